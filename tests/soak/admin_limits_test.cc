// The admin service's limits against the real server binary (issue 14): the watch cap
// (RESOURCE_EXHAUSTED, a place freed when a watch ends), watches sharing snapshots, the
// connection cap with the data port unaffected, the admin port answering again after the
// process ran out of file descriptors, and the token from a file.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ringside/reactor/test_client.h"
#include "ringside/services/admin/admin.grpc.pb.h"
#include "ringside/tests/soak/server_process.h"

namespace ringside::soak {
namespace {

namespace v1 = admin::v1;
using Clock = std::chrono::steady_clock;

// A stub on a channel with a connection of its own (channels otherwise share one).
std::unique_ptr<v1::RingAdmin::Stub> Stub(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return v1::RingAdmin::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
}

grpc::Status Stats(v1::RingAdmin::Stub& stub, v1::GetServerStatsResponse* response,
                   std::chrono::milliseconds deadline = std::chrono::seconds(20),
                   const std::string& token = "") {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  return stub.GetServerStats(&context, {}, response);
}

v1::AdminStats AdminStats(v1::RingAdmin::Stub& stub) {
  v1::GetServerStatsResponse response;
  const grpc::Status status = Stats(stub, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.admin();
}

// Polls `condition` every 20 ms for up to 20 s.
template <typename Condition>
bool Eventually(Condition condition) {
  const Clock::time_point end = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

struct Watch {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::ConnectionsSnapshot>> reader;
  v1::ConnectionsSnapshot last;

  bool Read() { return reader->Read(&last); }
  grpc::Status End() {
    context.TryCancel();
    while (reader->Read(&last)) {
    }
    return reader->Finish();
  }
};

std::unique_ptr<Watch> StartWatch(v1::RingAdmin::Stub& stub, const std::string& token = "") {
  auto watch = std::make_unique<Watch>();
  watch->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  if (!token.empty()) watch->context.AddMetadata("authorization", "Bearer " + token);
  v1::WatchConnectionsRequest request;
  request.set_interval_ms(100);
  watch->reader = stub.WatchConnections(&watch->context, request);
  return watch;
}

int Connect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_in address = testing::LoopbackAddress(port);
  if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    ADD_FAILURE() << "connect to port " << port << ": " << std::strerror(errno);
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

uint16_t PortOf(const std::string& address) {
  uint32_t port = 0;
  EXPECT_TRUE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port)) << address;
  return static_cast<uint16_t>(port);
}

// One GET /plaintext on a new connection: whether its whole response came back.
bool DataPortServes(uint16_t port) {
  const int fd = Connect(port);
  if (fd < 0) return false;
  timeval timeout{.tv_sec = 10, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  const std::string request = "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n";
  std::string received;
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    while (received.find("Hello, World!") == std::string::npos) {
      const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      received.append(buffer, static_cast<size_t>(n));
    }
  }
  close(fd);
  return received.find("Hello, World!") != std::string::npos;
}

TEST(AdminLimitsTest, WatchesOverTheCapAreRefusedAndAnEndedWatchFreesItsPlace) {
  std::unique_ptr<ServerProcess> server = StartServerForTest({"--reactors=1", "--admin_max_watches=2"});
  ASSERT_NE(server, nullptr);
  auto stub = Stub(server->admin_address());
  std::unique_ptr<Watch> first = StartWatch(*stub);
  std::unique_ptr<Watch> second = StartWatch(*stub);
  ASSERT_TRUE(first->Read());
  ASSERT_TRUE(second->Read());

  std::unique_ptr<Watch> third = StartWatch(*stub);
  EXPECT_FALSE(third->Read());
  const grpc::Status refused = third->reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("--admin_max_watches"), std::string::npos)
      << refused.error_message();
  v1::AdminStats stats = AdminStats(*stub);
  EXPECT_EQ(stats.watches(), 2u);
  EXPECT_EQ(stats.max_watches(), 2u);
  EXPECT_EQ(stats.watches_refused(), 1u);
  EXPECT_EQ(stats.watches_started(), 2u);

  EXPECT_EQ(first->End().error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(Eventually([&] { return AdminStats(*stub).watches() == 1; }));
  std::unique_ptr<Watch> fourth = StartWatch(*stub);
  EXPECT_TRUE(fourth->Read());
  EXPECT_TRUE(second->Read());  // still served
  fourth->End();
  second->End();
  EXPECT_TRUE(server->Signal(SIGTERM));
  const std::optional<int> status = server->WaitForExit(std::chrono::seconds(20));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
}

TEST(AdminLimitsTest, WatchesShareOneSnapshotPerReactorPerInterval) {
  constexpr int kReactors = 2;
  constexpr int kWatches = 16;
  std::unique_ptr<ServerProcess> server = StartServerForTest(
      {absl::StrCat("--reactors=", kReactors), absl::StrCat("--admin_max_watches=", kWatches)});
  ASSERT_NE(server, nullptr);
  std::vector<int> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(Connect(server->port()));
  auto stub = Stub(server->admin_address());

  // Snapshots taken over `window` with `watches` open, each read as it arrives.
  auto snapshots_taken = [&](int watches, std::chrono::milliseconds window,
                             uint64_t* messages) {
    std::vector<std::unique_ptr<Watch>> open;
    for (int i = 0; i < watches; ++i) open.push_back(StartWatch(*stub));
    for (auto& w : open) EXPECT_TRUE(w->Read());
    const uint64_t before = AdminStats(*stub).watch_snapshots();
    std::vector<std::thread> readers;
    std::atomic<uint64_t> read{0};
    for (auto& w : open) {
      readers.emplace_back([&w, &read] {
        while (w->Read()) ++read;
      });
    }
    std::this_thread::sleep_for(window);
    const uint64_t after = AdminStats(*stub).watch_snapshots();
    for (auto& w : open) w->context.TryCancel();
    for (std::thread& t : readers) t.join();
    for (auto& w : open) w->reader->Finish();
    EXPECT_TRUE(Eventually([&] { return AdminStats(*stub).watches() == 0; }));
    *messages = read;
    return after - before;
  };
  const auto window = std::chrono::milliseconds(1500);
  uint64_t one_messages = 0;
  uint64_t many_messages = 0;
  const uint64_t one = snapshots_taken(1, window, &one_messages);
  const uint64_t many = snapshots_taken(kWatches, window, &many_messages);
  // Each reactor is copied about once per 100 ms, however many watches read it (a watch
  // served late may take one more, never the same snapshot twice).
  const uint64_t bound = kReactors * (window / std::chrono::milliseconds(100) + 2);
  std::printf("snapshots over %lld ms: %llu with 1 watch, %llu with %d watches (bound %llu)\n",
              static_cast<long long>(window.count()), static_cast<unsigned long long>(one),
              static_cast<unsigned long long>(many), kWatches,
              static_cast<unsigned long long>(bound));
  EXPECT_LE(one, bound);
  EXPECT_LE(many, bound + bound / 4) << "one watch: " << one << " snapshots, " << kWatches
                         << " watches: " << many;
  EXPECT_GT(many_messages, 2 * one_messages) << "every watch was served";
  for (int fd : clients) close(fd);
}

TEST(AdminLimitsTest, ConnectionsOverTheCapAreRefusedWhileTheDataPortServes) {
  std::unique_ptr<ServerProcess> server =
      StartServerForTest({"--reactors=1", "--admin_max_connections=2"});
  ASSERT_NE(server, nullptr);
  auto first = Stub(server->admin_address());
  auto second = Stub(server->admin_address());
  v1::GetServerStatsResponse response;
  ASSERT_TRUE(Stats(*first, &response).ok());
  ASSERT_TRUE(Stats(*second, &response).ok());

  auto third = Stub(server->admin_address());
  const grpc::Status refused = Stats(*third, &response, std::chrono::seconds(3));
  EXPECT_FALSE(refused.ok());
  EXPECT_TRUE(refused.error_code() == grpc::StatusCode::UNAVAILABLE ||
              refused.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
      << refused.error_code() << " " << refused.error_message();
  EXPECT_TRUE(DataPortServes(server->port()));

  v1::AdminStats stats = AdminStats(*first);
  EXPECT_EQ(stats.max_connections(), 2u);
  EXPECT_EQ(stats.connections(), 2u);
  EXPECT_GE(stats.connections_refused(), 1u);
  EXPECT_GE(stats.connections_accepted(), 2u);

  // A connection that ends frees its place.
  second.reset();
  third.reset();
  ASSERT_TRUE(Eventually([&] { return AdminStats(*first).connections() == 1; }));
  auto fourth = Stub(server->admin_address());
  EXPECT_TRUE(Stats(*fourth, &response).ok());
}

TEST(AdminLimitsTest, TheAdminPortAnswersAgainAfterTheProcessRanOutOfFds) {
  constexpr int kNofile = 128;
  // The server fits its connection limits into RLIMIT_NOFILE at start (a cap of admin
  // connections above it is refused), so the limit is lowered once it runs, as an operator
  // or another consumer of descriptors would: the admin listener's accept4 sees it at once.
  std::unique_ptr<ServerProcess> server =
      StartServerForTest({"--reactors=1", "--admin_max_connections=1000"});
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(std::system(absl::StrCat("prlimit --pid ", server->pid(), " --nofile=", kNofile,
                                     ":").c_str()),
            0);
  const uint16_t admin_port = PortOf(server->admin_address());
  {
    auto stub = Stub(server->admin_address());
    v1::GetServerStatsResponse response;
    ASSERT_TRUE(Stats(*stub, &response).ok());
  }
  // More admin connections than descriptors: the kernel completes them all (backlog), the
  // server accepts until EMFILE.
  std::vector<int> held;
  for (int i = 0; i < kNofile + 50; ++i) held.push_back(Connect(admin_port));
  ASSERT_TRUE(Eventually([&] { return server->OpenFds() >= kNofile; }))
      << "open fds: " << server->OpenFds();
  {
    auto stub = Stub(server->admin_address());
    v1::GetServerStatsResponse response;
    EXPECT_FALSE(Stats(*stub, &response, std::chrono::milliseconds(500)).ok())
        << "no descriptor is left for this connection";
  }
  for (int fd : held) close(fd);

  auto stub = Stub(server->admin_address());
  v1::GetServerStatsResponse response;
  const grpc::Status status = Stats(*stub, &response, std::chrono::seconds(30));
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_GE(response.admin().accept_errors(), 1u);
  EXPECT_TRUE(DataPortServes(server->port()));
  EXPECT_TRUE(server->Signal(SIGTERM));
  const std::optional<int> exit = server->WaitForExit(std::chrono::seconds(20));
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << *exit;
}

TEST(AdminLimitsTest, TheTokenFileGuardsEveryCallAndWatchesWithoutItTakeNoPlace) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/admin_token");
  std::ofstream(path) << "s3cret\n";
  std::unique_ptr<ServerProcess> server = StartServerForTest(
      {"--reactors=1", "--admin_max_watches=1", "--admin_token_file=" + path});
  ASSERT_NE(server, nullptr);
  auto stub = Stub(server->admin_address());
  v1::GetServerStatsResponse response;
  EXPECT_EQ(Stats(*stub, &response).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(Stats(*stub, &response, std::chrono::seconds(20), "s3cret").ok())
      << "the trailing newline is not part of the token";
  EXPECT_EQ(response.configuration().at("admin_token_file"), path);

  for (int i = 0; i < 3; ++i) {
    std::unique_ptr<Watch> refused = StartWatch(*stub);
    EXPECT_FALSE(refused->Read());
    EXPECT_EQ(refused->reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  std::unique_ptr<Watch> watch = StartWatch(*stub, "s3cret");
  EXPECT_TRUE(watch->Read());
  watch->End();
  ASSERT_TRUE(Stats(*stub, &response, std::chrono::seconds(20), "s3cret").ok());
  EXPECT_EQ(response.admin().watches_refused(), 0u);
}

}  // namespace
}  // namespace ringside::soak
