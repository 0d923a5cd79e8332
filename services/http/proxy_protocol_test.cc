// The PROXY protocol in front of the HTTP app, over loopback TCP with a real Reactor and
// io_uring, in each buffer mode, with the app on the reactor thread and on workers: the
// client a header names becomes the connection's peer, the request bytes after it are
// served as they came (in the same segment, or arriving byte by byte), and a missing,
// malformed, truncated or untrusted header closes the connection without a byte and is
// counted by reason. Waits are conditions with deadlines.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "ringside/reactor/proxy_header.h"
#include "ringside/reactor/test_client.h"
#include "ringside/services/http/test_http_server.h"

namespace ringside::http {
namespace {

using namespace std::string_literals;
using testing::TestClient;

constexpr std::string_view kGet = "GET /pipeline HTTP/1.1\r\nHost: t\r\n\r\n";
constexpr uint32_t kHeaderTimeoutMs = 300;

// A v2 PROXY header for TCP over IPv4 from 192.0.2.7:40000, with `tlvs` after the
// addresses; LOCAL when `local`.
std::string V2Header(const std::string& tlvs = "", bool local = false) {
  std::string addresses(12, '\0');
  inet_pton(AF_INET, "192.0.2.7", addresses.data());
  inet_pton(AF_INET, "192.0.2.8", addresses.data() + 4);
  addresses[8] = static_cast<char>(40000 >> 8);
  addresses[9] = static_cast<char>(40000 & 0xff);
  addresses[11] = 80;
  const std::string body = addresses + tlvs;
  return "\r\n\r\n\0\r\nQUIT\n"s + static_cast<char>(local ? 0x20 : 0x21) + '\x11' +
         static_cast<char>(body.size() >> 8) + static_cast<char>(body.size() & 0xff) + body;
}

// The connection the server has with `client` (by its socket peer), once it has one.
std::string LocalName(const TestClient& client) {
  sockaddr_in local{};
  socklen_t size = sizeof(local);
  getsockname(client.fd(), reinterpret_cast<sockaddr*>(&local), &size);
  return "127.0.0.1:" + std::to_string(ntohs(local.sin_port));
}

class ProxyProtocolTest : public ::testing::TestWithParam<ServerMode> {
 protected:
  ServerMode Mode(ProxyVersions versions, const char* trusted = "127.0.0.0/8") {
    ServerMode mode = GetParam();
    mode.proxy_versions = versions;
    mode.proxy_trusted = trusted;
    return mode;
  }

  // The server's stats of the connection whose TCP peer is `client`.
  static std::optional<ConnectionStats> Find(TestHttpServer& server, const TestClient& client) {
    const std::string socket_peer = LocalName(client);
    for (const ConnectionStats& c : server.reactor().Snapshot().connections) {
      if (c.socket_peer == socket_peer || (c.socket_peer.empty() && c.peer == socket_peer)) {
        return c;
      }
    }
    return std::nullopt;
  }

  // Sends `bytes` and expects the server to close without answering.
  static void ExpectRefused(TestClient& client, std::string_view bytes) {
    client.Send(bytes);
    EXPECT_TRUE(client.WaitForClose()) << "the connection must be closed";
    EXPECT_EQ(client.ReadUntil([](std::string_view) { return false; },
                               std::chrono::milliseconds(0)),
              "");
  }
};

TEST_P(ProxyProtocolTest, V1ClientBecomesThePeerAndThePipelinedRequestIsServed) {
  TestHttpServer server(Mode(ProxyVersions::kAny), kHeaderTimeoutMs);
  TestClient client(server.port());
  client.Send("PROXY TCP4 192.0.2.1 192.0.2.2 51234 80\r\n"s + std::string(kGet) +
              std::string(kGet));
  const std::string responses = client.ReadUntil([](std::string_view r) {
    return r.size() >= 2 && r.find("ok", r.find("ok") + 2) != std::string_view::npos;
  });
  EXPECT_EQ(responses.substr(0, 15), "HTTP/1.1 200 OK");
  const std::optional<ConnectionStats> c = Find(server, client);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->peer, "192.0.2.1:51234");
  EXPECT_EQ(c->socket_peer, LocalName(client));
  EXPECT_EQ(c->proxy_version, 1);
  EXPECT_EQ(c->requests, 2u);
  EXPECT_EQ(server.reactor().Snapshot().totals.proxy_headers_accepted, 1u);
}

TEST_P(ProxyProtocolTest, V2HeaderArrivingByteByByteWithTlvsThenAnEcho) {
  TestHttpServer server(Mode(ProxyVersions::kV2), kHeaderTimeoutMs);
  TestClient client(server.port());
  const std::string header = V2Header("\x04\x00\x03"s "abc");
  for (size_t i = 0; i < header.size(); ++i) {
    client.Send(header.substr(i, 1));
    ASSERT_TRUE(testing::WaitFor([&] {
      const std::optional<ConnectionStats> c = Find(server, client);
      return c && c->recv_bytes >= i + 1;
    }));
  }
  client.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  const std::string response =
      client.ReadUntil([](std::string_view r) { return r.ends_with("hello"); });
  EXPECT_TRUE(response.ends_with("\r\n\r\nhello")) << response;
  const std::optional<ConnectionStats> c = Find(server, client);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->peer, "192.0.2.7:40000");
  EXPECT_EQ(c->proxy_version, 2);
}

TEST_P(ProxyProtocolTest, V2LocalKeepsTheSocketPeer) {
  TestHttpServer server(Mode(ProxyVersions::kV2), kHeaderTimeoutMs);
  TestClient client(server.port());
  client.Send(V2Header("", /*local=*/true) + std::string(kGet));
  client.ReadUntil([](std::string_view r) { return r.ends_with("ok"); });
  const std::optional<ConnectionStats> c = Find(server, client);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->peer, LocalName(client));
  EXPECT_EQ(c->socket_peer, "");
  EXPECT_EQ(c->requests, 1u);
}

TEST_P(ProxyProtocolTest, MissingMalformedAndTruncatedHeadersAreRefusedAndCounted) {
  TestHttpServer server(Mode(ProxyVersions::kAny, "127.0.0.0/8"), kHeaderTimeoutMs);
  {
    TestClient client(server.port());
    ExpectRefused(client, kGet);
  }
  {
    TestClient client(server.port());
    ExpectRefused(client, "PROXY TCP4 192.0.2.1 192.0.2.2 051234 80\r\n"s + std::string(kGet));
  }
  {
    TestClient client(server.port());  // the length runs past the spec's 232 bytes
    ExpectRefused(client, "\r\n\r\n\0\r\nQUIT\n\x21\x11\x10\x00"s);
  }
  {
    TestClient client(server.port());  // half a header, then EOF
    client.Send(V2Header().substr(0, 20));
    client.ShutdownWrite();
    EXPECT_TRUE(client.WaitForClose());
  }
  {
    TestClient client(server.port());  // half a header, then nothing: the header timeout
    client.Send("PROXY TCP4 192.0.2.1");
    EXPECT_TRUE(client.WaitForClose(std::chrono::milliseconds(kHeaderTimeoutMs * 20)));
  }
  const ReactorTotals totals = server.reactor().Snapshot().totals;
  EXPECT_EQ(totals.proxy_refused_missing, 1u);
  EXPECT_EQ(totals.proxy_refused_malformed, 2u);
  EXPECT_EQ(totals.proxy_refused_incomplete, 2u);
  EXPECT_EQ(totals.proxy_headers_accepted, 0u);
  EXPECT_EQ(totals.requests_rejected, 0u);  // the handler never saw a byte
}

TEST_P(ProxyProtocolTest, UntrustedSourceIsRefusedBeforeItSendsAnything) {
  TestHttpServer server(Mode(ProxyVersions::kAny, "10.0.0.0/8,::1/128"), kHeaderTimeoutMs);
  TestClient client(server.port());
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(server.reactor().Snapshot().totals.proxy_refused_untrusted, 1u);
}

INSTANTIATE_TEST_SUITE_P(Modes, ProxyProtocolTest,
                         ::testing::Values(ServerMode{"incremental", true, 0},
                                           ServerMode{"shared", false, 0},
                                           ServerMode{"incremental_workers", true, 2},
                                           ServerMode{"shared_workers", false, 2}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ringside::http
