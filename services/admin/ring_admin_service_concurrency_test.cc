// RingAdminService answering from several threads while clients drive traffic through two
// reactors: every answer is a consistent snapshot, and nothing races (run under TSan).
//
// The service methods are called directly, not through a gRPC server: Debian's gRPC is not
// built with TSan, so its threads would drown this test in reports from inside gRPC. The
// unary methods do not use their ServerContext.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ringside/reactor/test_client.h"
#include "ringside/services/admin/http_reactors_for_test.h"
#include "ringside/services/admin/ring_admin_service.h"

namespace ringside::admin {
namespace {

using testing::TestClient;

constexpr int kClients = 4;
constexpr int kRounds = 300;
constexpr int kDepth = 8;

class RingAdminServiceConcurrencyTest : public ::testing::TestWithParam<bool> {};

// What one observer saw of a connection last time; counters only ever grow.
struct Seen {
  uint64_t recv_bytes = 0;
  uint64_t requests = 0;
};

void ExpectConsistent(const v1::Connection& c, std::map<uint64_t, Seen>* seen) {
  // A request is counted only after its bytes were received: a torn snapshot could break it.
  EXPECT_LE(c.requests() * kPipelineRequestBytes, c.recv_bytes());
  Seen& before = (*seen)[c.connection_id()];
  EXPECT_GE(c.recv_bytes(), before.recv_bytes);
  EXPECT_GE(c.requests(), before.requests);
  before = {c.recv_bytes(), c.requests()};
}

TEST_P(RingAdminServiceConcurrencyTest, AnswersStayConsistentUnderTraffic) {
  HttpReactorsForTest reactors(2, /*incremental=*/GetParam());
  RingAdminService service(reactors.reactors(), {});

  std::vector<TestClient> clients;
  for (int i = 0; i < kClients; ++i) clients.emplace_back(reactors.port());
  std::atomic<bool> traffic_done{false};
  std::vector<std::thread> drivers;
  for (TestClient& client : clients) {
    drivers.emplace_back([&client] {
      for (int round = 0; round < kRounds; ++round) PipelineRequests(client, kDepth);
    });
  }

  std::vector<std::thread> observers;
  observers.emplace_back([&] {
    std::map<uint64_t, Seen> seen;
    while (!traffic_done.load()) {
      v1::ListConnectionsRequest request;
      v1::ListConnectionsResponse response;
      ASSERT_TRUE(service.ListConnections(nullptr, &request, &response).ok());
      for (const v1::Connection& c : response.connections()) ExpectConsistent(c, &seen);
    }
  });
  observers.emplace_back([&] {
    std::map<uint64_t, Seen> seen;
    while (!traffic_done.load()) {
      v1::ListConnectionsRequest list_request;
      list_request.set_reactor_id(1);
      v1::ListConnectionsResponse list;
      ASSERT_TRUE(service.ListConnections(nullptr, &list_request, &list).ok());
      for (const v1::Connection& listed : list.connections()) {
        v1::GetConnectionRequest request;
        request.set_connection_id(listed.connection_id());
        v1::GetConnectionResponse response;
        ASSERT_TRUE(service.GetConnection(nullptr, &request, &response).ok());
        ExpectConsistent(response.connection(), &seen);
        if (GetParam()) {
          uint64_t written = 0;
          for (const v1::BufferStats& b : response.connection().buffers()) written += b.offset();
          EXPECT_LE(written, response.connection().recv_bytes());
        }
      }
    }
  });
  observers.emplace_back([&] {
    while (!traffic_done.load()) {
      v1::GetServerStatsResponse response;
      ASSERT_TRUE(service.GetServerStats(nullptr, nullptr, &response).ok());
      ASSERT_EQ(response.reactors_size(), 2);
    }
  });

  for (std::thread& t : drivers) t.join();
  traffic_done = true;
  for (std::thread& t : observers) t.join();

  v1::ListConnectionsRequest request;
  v1::ListConnectionsResponse response;
  ASSERT_TRUE(service.ListConnections(nullptr, &request, &response).ok());
  ASSERT_EQ(response.connections_size(), kClients);
  for (const v1::Connection& c : response.connections()) {
    EXPECT_EQ(c.requests(), static_cast<uint64_t>(kRounds * kDepth));
    EXPECT_EQ(c.recv_bytes(), kRounds * kDepth * kPipelineRequestBytes);
  }
  service.BeginShutdown();
}

INSTANTIATE_TEST_SUITE_P(Modes, RingAdminServiceConcurrencyTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "incremental" : "shared"; });

}  // namespace
}  // namespace ringside::admin
