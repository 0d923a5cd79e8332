// The HTTP/1.1 conformance and request-smuggling cases of conformance_cases.cc, sent as raw
// bytes to the real server (loopback TCP, a real Reactor and io_uring) in each buffer mode,
// with the app on the reactor thread and on workers. Every case runs twice: sent whole, and
// cut into random fragments that each reach the server before the next is sent, which must
// not change the outcome. Reads wait with deadlines; nothing sleeps and hopes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "ringside/reactor/test_client.h"
#include "ringside/services/http/conformance_cases.h"
#include "ringside/services/http/test_http_server.h"

namespace ringside::http {
namespace {

using testing::TestClient;

constexpr std::chrono::milliseconds kDeadline = std::chrono::seconds(5);
constexpr std::string_view kFollowUp = "GET /pipeline HTTP/1.1\r\nHost: t\r\n\r\n";

struct Response {
  int status = 0;
  std::string body;
};

struct Responses {
  std::vector<Response> complete;
  size_t consumed = 0;  // bytes of `complete`; an incomplete or garbled rest follows
};

// Splits the complete responses off the front of `bytes`. The server frames every final
// response with Content-Length; a 1xx has no body and is dropped unless `keep_interim`.
Responses ParseResponses(std::string_view bytes, bool keep_interim) {
  Responses out;
  for (;;) {
    const std::string_view rest = bytes.substr(out.consumed);
    const size_t head_end = rest.find("\r\n\r\n");
    if (head_end == std::string_view::npos || rest.substr(0, 9) != "HTTP/1.1 ") return out;
    Response response;
    response.status = std::atoi(std::string(rest.substr(9, 3)).c_str());
    size_t size = head_end + 4;
    if (response.status >= 200) {
      const std::string_view head = rest.substr(0, head_end);
      constexpr std::string_view kLength = "\r\nContent-Length: ";
      const size_t at = head.find(kLength);
      if (at == std::string_view::npos) return out;
      const size_t length =
          std::strtoul(std::string(head.substr(at + kLength.size())).c_str(), nullptr, 10);
      if (rest.size() < size + length) return out;
      response.body = rest.substr(size, length);
      size += length;
    }
    out.consumed += size;
    if (response.status >= 200 || keep_interim) out.complete.push_back(std::move(response));
  }
}

// Unlike TestClient::Send, survives a server that has already closed: whether it did is
// what the test checks.
void SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

// How the server names the client's end of the connection (ConnectionStats::peer).
std::string PeerName(const TestClient& client) {
  sockaddr_in local{};
  socklen_t size = sizeof(local);
  getsockname(client.fd(), reinterpret_cast<sockaddr*>(&local), &size);
  return "127.0.0.1:" + std::to_string(ntohs(local.sin_port));
}

class ConformanceTest
    : public ::testing::TestWithParam<std::tuple<ServerMode, ConformanceCase>> {
 protected:
  // One server per mode for the whole suite: a reactor per test would set up and tear down
  // some two thousand io_urings, whose memory the kernel frees lazily while charging it to
  // the locked-memory limit (ASan runs hit ENOMEM).
  static TestHttpServer& Server(const ServerMode& mode) {
    std::unique_ptr<TestHttpServer>& server = Servers()[mode.name];
    if (server == nullptr) server = std::make_unique<TestHttpServer>(mode);
    return *server;
  }
  static std::map<std::string, std::unique_ptr<TestHttpServer>>& Servers() {
    static auto* const servers = new std::map<std::string, std::unique_ptr<TestHttpServer>>;
    return *servers;
  }
  static void TearDownTestSuite() { Servers().clear(); }

  const ConformanceCase& Case() { return std::get<1>(GetParam()); }

  // Bytes the server has received on the connection of `peer` (0 once it is closed).
  uint64_t ServerReceivedBytes(const std::string& peer) {
    for (const ConnectionStats& c : server_.reactor().Snapshot().connections) {
      if (c.peer == peer) return c.recv_bytes;
    }
    return 0;
  }

  // Sends `data` in 2 to 8 random pieces, each received by the server before the next is
  // sent (unless the server has answered or closed already).
  void SendFragmented(TestClient& client, std::string_view data) {
    std::mt19937 random(static_cast<uint32_t>(std::hash<std::string>()(Case().name)));
    std::vector<size_t> cuts = {0, data.size()};
    const size_t pieces = std::min<size_t>(data.size(), 2 + random() % 7);
    while (cuts.size() < pieces + 1) {
      const size_t cut = 1 + random() % (data.size() - 1);
      if (std::find(cuts.begin(), cuts.end(), cut) == cuts.end()) cuts.push_back(cut);
    }
    std::sort(cuts.begin(), cuts.end());
    const std::string peer = PeerName(client);
    const uint64_t before = ServerReceivedBytes(peer);
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      SendAll(client.fd(), data.substr(cuts[i], cuts[i + 1] - cuts[i]));
      testing::WaitFor([&] {
        return Readable(client.fd()) || ServerReceivedBytes(peer) >= before + cuts[i + 1];
      });
    }
  }

  void Send(TestClient& client, std::string_view data, bool fragmented) {
    if (fragmented) {
      SendFragmented(client, data);
    } else {
      SendAll(client.fd(), data);
    }
  }

  void Run(bool fragmented) {
    const ConformanceCase& c = Case();
    const bool keep_interim = std::count(c.statuses.begin(), c.statuses.end(), 100) > 0;
    const bool must_close = c.close && !c.statuses.empty();
    TestClient client(server_.port());
    std::string received;
    // Reads until `received` holds `count` responses, EOF or the deadline.
    const auto read_responses = [&](size_t count) {
      received += client.ReadUntil([&](std::string_view more) {
        return ParseResponses(received + std::string(more), keep_interim).complete.size() >=
               count;
      }, kDeadline);
    };

    Send(client, must_close ? c.raw + std::string(kSmuggled) : c.raw, fragmented);
    if (c.statuses.empty()) {
      // Nothing may come back, not even once the client has said all it will say.
      client.ShutdownWrite();
      received = client.ReadUntil([](std::string_view) { return false; }, kDeadline);
      EXPECT_EQ(received, "") << "no response expected";
      EXPECT_TRUE(client.WaitForClose(std::chrono::milliseconds(0))) << "no close";
      return;
    }
    if (!c.continuation.empty()) {
      read_responses(1);
      Send(client, c.continuation, fragmented);
    }
    read_responses(c.statuses.size());
    const Responses responses = ParseResponses(received, keep_interim);
    std::vector<int> statuses;
    for (const Response& r : responses.complete) statuses.push_back(r.status);
    EXPECT_EQ(statuses, c.statuses) << "received:\n" << received;
    if (c.body) {
      const auto final_response = std::find_if(responses.complete.begin(), responses.complete.end(),
                                         [](const Response& r) { return r.status >= 200; });
      ASSERT_NE(final_response, responses.complete.end());
      EXPECT_EQ(final_response->body, *c.body);
    }
    std::string rest = received.substr(responses.consumed);
    if (c.close) {
      rest += client.ReadUntil([](std::string_view) { return false; }, kDeadline);
      EXPECT_TRUE(client.WaitForClose(std::chrono::milliseconds(0)))
          << "the server must close the connection";
      EXPECT_EQ(rest, "") << "bytes after the expected responses";
      received += rest;
    } else {
      EXPECT_EQ(rest, "") << "bytes before the follow-up";
      SendAll(client.fd(), kFollowUp);
      const size_t follow_up_start = received.size();
      read_responses(c.statuses.size() + 1);
      const Responses follow_up =
          ParseResponses(std::string_view(received).substr(follow_up_start), false);
      ASSERT_EQ(follow_up.complete.size(), 1u)
          << "the connection must stay open; received:\n" << received;
      EXPECT_EQ(follow_up.complete[0].status, 200);
      EXPECT_EQ(follow_up.complete[0].body, "ok");
      EXPECT_EQ(follow_up_start + follow_up.consumed, received.size())
          << "bytes after the follow-up";
    }
    EXPECT_EQ(received.find(kSmuggledMarker), std::string::npos)
        << "a request after a rejected one was processed";
  }

  TestHttpServer& server_ = Server(std::get<0>(GetParam()));
};

TEST_P(ConformanceTest, Whole) { Run(/*fragmented=*/false); }

TEST_P(ConformanceTest, Fragmented) { Run(/*fragmented=*/true); }

INSTANTIATE_TEST_SUITE_P(
    Rfc9112, ConformanceTest,
    ::testing::Combine(::testing::Values(ServerMode{"incremental", true, 0},
                                         ServerMode{"shared", false, 0},
                                         ServerMode{"incremental_workers", true, 2},
                                         ServerMode{"shared_workers", false, 2}),
                       ::testing::ValuesIn(ConformanceCases())),
    [](const auto& info) {
      return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param).name;
    });

}  // namespace
}  // namespace ringside::http
