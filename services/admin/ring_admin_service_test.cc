// RingAdmin over real gRPC against two running reactors (HTTP, shared port) with live
// loopback connections, in incremental and shared buffer mode.
#include "ringside/services/admin/ring_admin_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ringside/reactor/test_client.h"
#include "ringside/services/admin/admin.grpc.pb.h"
#include "ringside/services/admin/admin_server.h"
#include "ringside/services/admin/http_reactors_for_test.h"

namespace ringside::admin {
namespace {

using testing::TestClient;
using testing::WaitFor;

constexpr int kReactors = 2;

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
}

struct Mode {
  const char* name;
  bool incremental;
};

class RingAdminServiceTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    reactors_ = std::make_unique<HttpReactorsForTest>(kReactors, GetParam().incremental);
    absl::StatusOr<std::unique_ptr<AdminServer>> admin =
        AdminServer::Start({.address = "127.0.0.1:0"}, reactors_->reactors(),
                           {{"protocol", "http"}, {"reactors", "2"}});
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = std::move(*admin);
    stub_ = v1::RingAdmin::NewStub(
        grpc::CreateChannel(admin_->address(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    // The admin server goes first, as in the server (see ring_admin_service.h).
    admin_.reset();
    reactors_.reset();
  }

  uint16_t port() const { return reactors_->port(); }

  grpc::Status List(const v1::ListConnectionsRequest& request,
                    v1::ListConnectionsResponse* response) {
    grpc::ClientContext context;
    SetDeadline(&context);
    return stub_->ListConnections(&context, request, response);
  }

  // Every live connection, by peer address (one page: tests here keep fewer than 1000).
  std::map<std::string, v1::Connection> ConnectionsByPeer() {
    v1::ListConnectionsRequest request;
    request.set_max_results(RingAdminService::kMaxResults);
    v1::ListConnectionsResponse response;
    EXPECT_TRUE(List(request, &response).ok());
    EXPECT_TRUE(response.end());
    std::map<std::string, v1::Connection> by_peer;
    for (const v1::Connection& c : response.connections()) by_peer[c.peer()] = c;
    return by_peer;
  }

  grpc::Status Get(uint64_t id, v1::GetConnectionResponse* response) {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::GetConnectionRequest request;
    request.set_connection_id(id);
    return stub_->GetConnection(&context, request, response);
  }

  v1::GetServerStatsResponse ServerStats() {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::GetServerStatsResponse response;
    EXPECT_TRUE(stub_->GetServerStats(&context, {}, &response).ok());
    return response;
  }

  uint64_t OpenConnections() {
    const v1::GetServerStatsResponse stats = ServerStats();
    uint64_t total = 0;
    for (const v1::ReactorStats& r : stats.reactors()) total += r.connections();
    return total;
  }

  std::unique_ptr<HttpReactorsForTest> reactors_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<v1::RingAdmin::Stub> stub_;
};

TEST_P(RingAdminServiceTest, CountersEqualWhatEachClientSentAndPipelined) {
  const int depths[] = {1, 5, 17, 64};
  std::vector<TestClient> clients;
  for (int depth : depths) {
    clients.emplace_back(port());
    PipelineRequests(clients.back(), depth);
  }
  const std::map<std::string, v1::Connection> by_peer = ConnectionsByPeer();
  ASSERT_EQ(by_peer.size(), clients.size());
  for (size_t i = 0; i < clients.size(); ++i) {
    SCOPED_TRACE(depths[i]);
    const v1::Connection& c = by_peer.at(ClientAddress(clients[i]));
    EXPECT_EQ(c.recv_bytes(), depths[i] * kPipelineRequestBytes);
    EXPECT_EQ(c.requests(), static_cast<uint64_t>(depths[i]));
    EXPECT_GT(c.recv_completions(), 0u);
    EXPECT_GT(c.bytes_sent(), 0u);
    EXPECT_EQ(c.incremental(), GetParam().incremental);
    EXPECT_LT(c.reactor_id(), static_cast<uint32_t>(kReactors));
    EXPECT_GE(c.fd(), 0);
    EXPECT_TRUE(c.ring_attached());
    EXPECT_EQ(c.buffer_size(), 4096u);
    EXPECT_EQ(c.buffers_size(), 0) << "buffer detail is GetConnection's";

    v1::GetConnectionResponse detail;
    ASSERT_TRUE(Get(c.connection_id(), &detail).ok());
    EXPECT_EQ(detail.connection().recv_bytes(), c.recv_bytes());
    if (GetParam().incremental) {
      // Everything fit in bid 0, filled incrementally; the handler let go of every view.
      EXPECT_EQ(c.ring_entries(), 4u);
      ASSERT_EQ(detail.connection().buffers_size(), 4);
      const v1::BufferStats& first = detail.connection().buffers(0);
      EXPECT_EQ(first.bid(), 0u);
      EXPECT_EQ(first.offset(), c.recv_bytes());
      EXPECT_EQ(first.readers(), 0u);
      EXPECT_FALSE(first.kernel_done());
      EXPECT_EQ(detail.connection().buffers(3).bid(), 3u);
      EXPECT_EQ(detail.connection().buffers(3).offset(), 0u);
    } else {
      EXPECT_EQ(detail.connection().buffers_size(), 0) << "a shared ring is nobody's detail";
    }
  }
}

TEST_P(RingAdminServiceTest, BgidsAreUniqueAmongLiveIncrementalConnections) {
  std::vector<TestClient> clients;
  for (int i = 0; i < 60; ++i) {
    clients.emplace_back(port());
    PipelineRequests(clients.back(), 1);
  }
  const std::map<std::string, v1::Connection> by_peer = ConnectionsByPeer();
  ASSERT_EQ(by_peer.size(), clients.size());
  std::set<std::pair<uint32_t, uint32_t>> reactor_bgids;
  std::set<uint64_t> ids;
  for (const auto& [peer, c] : by_peer) {
    ids.insert(c.connection_id());
    if (GetParam().incremental) {
      EXPECT_GE(c.bgid(), 2u) << "bgid 0 and 1 are reserved for shared rings";
      // A bgid names a ring within one io_uring, so uniqueness is per reactor.
      EXPECT_TRUE(reactor_bgids.insert({c.reactor_id(), c.bgid()}).second) << peer;
    } else {
      EXPECT_EQ(c.bgid(), 0u);
    }
  }
  EXPECT_EQ(ids.size(), clients.size());
}

TEST_P(RingAdminServiceTest, PaginationWalksAThousandConnectionsExactlyOnce) {
  // Both ends of 1000 connections live in this process.
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 8192);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  ASSERT_GE(limit.rlim_cur, 2200u) << "the hard limit on open files is too low for this test";

  constexpr int kConnections = 1000;
  std::vector<TestClient> clients;
  std::set<std::string> peers;
  for (int i = 0; i < kConnections; ++i) {
    clients.emplace_back(port());
    peers.insert(ClientAddress(clients.back()));
  }
  ASSERT_TRUE(WaitFor([&] { return OpenConnections() == kConnections; }))
      << ServerStats().DebugString();

  std::vector<uint64_t> walked;
  std::set<std::string> walked_peers;
  v1::ListConnectionsRequest request;
  request.set_max_results(97);  // pages that do not divide 1000
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 20);
    v1::ListConnectionsResponse response;
    ASSERT_TRUE(List(request, &response).ok());
    ASSERT_LE(response.connections_size(), 97);
    for (const v1::Connection& c : response.connections()) {
      walked.push_back(c.connection_id());
      walked_peers.insert(c.peer());
    }
    if (response.end()) break;
    ASSERT_EQ(response.connections_size(), 97);
    request.set_start_connection_id(walked.back() + 1);
  }
  ASSERT_EQ(walked.size(), static_cast<size_t>(kConnections));
  EXPECT_TRUE(std::is_sorted(walked.begin(), walked.end()));
  EXPECT_EQ(std::set<uint64_t>(walked.begin(), walked.end()).size(), walked.size());
  EXPECT_EQ(walked_peers, peers);

  // Per reactor, the pages partition the same set.
  size_t per_reactor_total = 0;
  for (uint32_t reactor = 0; reactor < kReactors; ++reactor) {
    v1::ListConnectionsRequest one;
    one.set_reactor_id(reactor);
    one.set_max_results(RingAdminService::kMaxResults);
    v1::ListConnectionsResponse response;
    ASSERT_TRUE(List(one, &response).ok());
    EXPECT_TRUE(response.end());
    for (const v1::Connection& c : response.connections()) EXPECT_EQ(c.reactor_id(), reactor);
    per_reactor_total += response.connections_size();
  }
  EXPECT_EQ(per_reactor_total, static_cast<size_t>(kConnections));
}

TEST_P(RingAdminServiceTest, ClosedAndUnknownConnectionsAreNotFound) {
  uint64_t id;
  {
    TestClient client(port());
    PipelineRequests(client, 2);
    id = ConnectionsByPeer().at(ClientAddress(client)).connection_id();
    v1::GetConnectionResponse open;
    ASSERT_TRUE(Get(id, &open).ok());
    EXPECT_EQ(open.connection().connection_id(), id);
  }
  // The reactor closes its end once it sees the client's EOF.
  ASSERT_TRUE(WaitFor([&] {
    v1::GetConnectionResponse response;
    return Get(id, &response).error_code() == grpc::StatusCode::NOT_FOUND;
  }));
  v1::GetConnectionResponse response;
  const grpc::Status unknown = Get(uint64_t{1} << 60, &response);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(unknown.error_message().find("no open connection"), std::string::npos);
  EXPECT_EQ(Get(0, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // A new connection gets a new id, never the closed one's.
  TestClient again(port());
  PipelineRequests(again, 1);
  EXPECT_GT(ConnectionsByPeer().at(ClientAddress(again)).connection_id(), id);
}

TEST_P(RingAdminServiceTest, BadRequestsAreInvalidArgumentWithAMessage) {
  v1::ListConnectionsResponse list;
  v1::ListConnectionsRequest too_many;
  too_many.set_max_results(RingAdminService::kMaxResults + 1);
  grpc::Status status = List(too_many, &list);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("max_results"), std::string::npos);

  v1::ListConnectionsRequest no_such_reactor;
  no_such_reactor.set_reactor_id(kReactors);
  status = List(no_such_reactor, &list);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("reactor_id 2"), std::string::npos);

  for (uint32_t interval : {0u, RingAdminService::kMinWatchIntervalMs - 1,
                            RingAdminService::kMaxWatchIntervalMs + 1}) {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::WatchConnectionsRequest watch;
    watch.set_interval_ms(interval);
    auto reader = stub_->WatchConnections(&context, watch);
    v1::ConnectionsSnapshot snapshot;
    EXPECT_FALSE(reader->Read(&snapshot));
    status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << interval;
    EXPECT_NE(status.error_message().find("interval_ms"), std::string::npos);
  }
}

TEST_P(RingAdminServiceTest, ServerStatsReportTotalsModeFeaturesAndConfiguration) {
  std::vector<TestClient> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back(port());
    PipelineRequests(clients.back(), 3);
  }
  const v1::GetServerStatsResponse stats = ServerStats();
  ASSERT_EQ(stats.reactors_size(), kReactors);
  uint64_t connections = 0;
  uint64_t accepted = 0;
  for (int i = 0; i < kReactors; ++i) {
    const v1::ReactorStats& r = stats.reactors(i);
    EXPECT_EQ(r.reactor_id(), static_cast<uint32_t>(i));
    EXPECT_GT(r.loop_iterations(), 0u);
    EXPECT_GT(r.cqes(), 0u);
    EXPECT_GT(r.submits(), 0u);
    connections += r.connections();
    accepted += r.connections_accepted();
    if (GetParam().incremental) {
      // Pooled rings keep their bgid too.
      EXPECT_EQ(r.rings_live(), r.connections());
      EXPECT_GE(r.bgids_in_use(), r.connections());
    }
  }
  EXPECT_EQ(connections, clients.size());
  EXPECT_EQ(accepted, clients.size());
  EXPECT_EQ(stats.effective_mode(), GetParam().incremental ? "incremental" : "shared");
  EXPECT_FALSE(stats.kernel_features().empty());
  EXPECT_EQ(stats.configuration().at("reactors"), "2");
  EXPECT_EQ(stats.configuration().at("protocol"), "http");
}

// Reads snapshots until `done` holds for one; false if the stream ended first.
bool ReadUntil(grpc::ClientReaderInterface<v1::ConnectionsSnapshot>& reader,
               const std::function<bool(const v1::ConnectionsSnapshot&)>& done) {
  v1::ConnectionsSnapshot snapshot;
  while (reader.Read(&snapshot)) {
    if (done(snapshot)) return true;
  }
  return false;
}

TEST_P(RingAdminServiceTest, WatchDeliversSnapshotsAndEndsCleanlyWhenTheClientCancels) {
  TestClient a(port());
  TestClient b(port());
  PipelineRequests(a, 1);
  PipelineRequests(b, 1);
  const std::map<std::string, v1::Connection> by_peer = ConnectionsByPeer();
  const uint64_t id_a = by_peer.at(ClientAddress(a)).connection_id();
  const uint64_t id_b = by_peer.at(ClientAddress(b)).connection_id();

  grpc::ClientContext context;
  v1::WatchConnectionsRequest request;
  request.set_interval_ms(RingAdminService::kMinWatchIntervalMs);
  request.set_changed_only(true);
  auto reader = stub_->WatchConnections(&context, request);

  v1::ConnectionsSnapshot first;
  ASSERT_TRUE(reader->Read(&first));
  EXPECT_EQ(first.sequence(), 1u);
  EXPECT_EQ(first.connections_size(), 2) << "the first snapshot lists everything";
  EXPECT_EQ(first.reactors_size(), kReactors);

  // Only the connection whose counters moved comes back.
  PipelineRequests(a, 4);
  uint64_t sequence = first.sequence();
  ASSERT_TRUE(ReadUntil(*reader, [&](const v1::ConnectionsSnapshot& s) {
    EXPECT_EQ(s.sequence(), ++sequence);
    for (const v1::Connection& c : s.connections()) EXPECT_NE(c.connection_id(), id_b);
    return s.connections_size() == 1 && s.connections(0).connection_id() == id_a &&
           s.connections(0).requests() == 5;
  }));

  // A closed connection is announced once.
  b.ShutdownWrite();
  ASSERT_TRUE(ReadUntil(*reader, [&](const v1::ConnectionsSnapshot& s) {
    return s.closed_connection_ids_size() == 1 && s.closed_connection_ids(0) == id_b;
  }));

  context.TryCancel();
  v1::ConnectionsSnapshot rest;
  while (reader->Read(&rest)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The handler ended with the call: shutting the server down finds no call in flight,
  // instead of waiting out its grace period and cancelling one.
  const auto start = std::chrono::steady_clock::now();
  admin_->Shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
}

TEST_P(RingAdminServiceTest, WatchFiltersByReactor) {
  std::vector<TestClient> clients;
  for (int i = 0; i < 16; ++i) {
    clients.emplace_back(port());
    PipelineRequests(clients.back(), 1);
  }
  grpc::ClientContext context;
  v1::WatchConnectionsRequest request;
  request.set_interval_ms(RingAdminService::kMinWatchIntervalMs);
  request.set_reactor_id(1);
  auto reader = stub_->WatchConnections(&context, request);
  v1::ConnectionsSnapshot snapshot;
  ASSERT_TRUE(reader->Read(&snapshot));
  ASSERT_EQ(snapshot.reactors_size(), 1);
  EXPECT_EQ(snapshot.reactors(0).reactor_id(), 1u);
  EXPECT_EQ(static_cast<uint64_t>(snapshot.connections_size()), snapshot.reactors(0).connections());
  for (const v1::Connection& c : snapshot.connections()) EXPECT_EQ(c.reactor_id(), 1u);
  context.TryCancel();
  while (reader->Read(&snapshot)) {
  }
  reader->Finish();
}

TEST_P(RingAdminServiceTest, WatchEndsCleanlyWhenTheServerShutsDown) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::WatchConnectionsRequest request;
  request.set_interval_ms(RingAdminService::kMaxWatchIntervalMs);
  auto reader = stub_->WatchConnections(&context, request);
  v1::ConnectionsSnapshot snapshot;
  ASSERT_TRUE(reader->Read(&snapshot));
  std::thread stopper([&] { admin_->Shutdown(); });
  EXPECT_FALSE(reader->Read(&snapshot));
  const grpc::Status status = reader->Finish();
  stopper.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(status.error_message().find("shutting down"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Modes, RingAdminServiceTest,
                         ::testing::Values(Mode{"incremental", true}, Mode{"shared", false}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ringside::admin
