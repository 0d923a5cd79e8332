// The metrics endpoint over real loopback TCP: its own reactor answering scrapes from
// running HTTP reactors, in the HTTP/1.1 forms a scraper may use, and its address checks.
// The exposition's syntax is checked against the server binary (metrics_test.py).
#include "ringside/services/metrics/metrics_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "ringside/reactor/test_client.h"
#include "ringside/services/admin/http_reactors_for_test.h"

namespace ringside::metrics {
namespace {

using admin::HttpReactorsForTest;
using admin::PipelineRequests;
using testing::TestClient;

constexpr char kScrape[] = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";

// The end of the first response in `s` framed by Content-Length (of its head only, for a
// HEAD), or npos while it is incomplete.
size_t ResponseEnd(std::string_view s, bool head_only) {
  const size_t end = s.find("\r\n\r\n");
  if (end == std::string_view::npos) return end;
  if (head_only) return end + 4;
  const size_t field = s.find("Content-Length: ");
  if (field == std::string_view::npos || field > end) return std::string_view::npos;
  const size_t length = std::stoul(std::string(s.substr(field + 16, 20)));
  return s.size() >= end + 4 + length ? end + 4 + length : std::string_view::npos;
}

// Reads responses one at a time; bytes of the next one stay for the next call.
class ResponseReader {
 public:
  explicit ResponseReader(TestClient* client) : client_(client) {}

  // The next whole response, or "" at the client's deadline or EOF.
  std::string Next(bool head_only = false) {
    while (ResponseEnd(pending_, head_only) == std::string::npos) {
      const std::string more =
          client_->ReadUntil([](std::string_view s) { return !s.empty(); });
      if (more.empty()) return "";
      pending_ += more;
    }
    const size_t end = ResponseEnd(pending_, head_only);
    std::string one = pending_.substr(0, end);
    pending_.erase(0, end);
    return one;
  }

 private:
  TestClient* const client_;
  std::string pending_;
};

std::string ReadResponse(TestClient& client, bool head_only = false) {
  return ResponseReader(&client).Next(head_only);
}

// The value of the series `name{labels}` in an exposition, or -1.
double Value(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

std::unique_ptr<MetricsServer> StartOrDie(const std::vector<Reactor*>& reactors,
                                          const std::string& address = "127.0.0.1:0") {
  absl::StatusOr<std::unique_ptr<MetricsServer>> server = MetricsServer::Start(
      {.address = address}, reactors, {.mode = "incremental", .kernel_features = {"X", "Y"}});
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

TEST(MetricsServerTest, ScrapeCountsEachReactorsTraffic) {
  HttpReactorsForTest http(/*count=*/2, /*incremental=*/true);
  std::unique_ptr<MetricsServer> metrics = StartOrDie(http.reactors());
  ASSERT_NE(metrics, nullptr);
  std::vector<TestClient> clients;
  for (int i = 0; i < 6; ++i) {
    clients.emplace_back(http.port());
    PipelineRequests(clients.back(), 5);
  }
  TestClient scraper(metrics->port());
  scraper.Send(kScrape);
  const std::string response = ReadResponse(scraper);
  ASSERT_EQ(response.substr(0, 15), "HTTP/1.1 200 OK") << response;
  EXPECT_NE(response.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos);
  const std::string body = response.substr(response.find("\r\n\r\n") + 3);
  double requests = 0, connections = 0, accepted = 0, received = 0;
  for (const char* reactor : {"0", "1"}) {
    const std::string label = std::string("{reactor=\"") + reactor + "\"}";
    requests += Value(body, "ringside_requests_total" + label);
    connections += Value(body, "ringside_connections" + label);
    accepted += Value(body, "ringside_connections_accepted_total" + label);
    received += Value(body, "ringside_received_bytes_total" + label);
  }
  EXPECT_EQ(requests, 30);
  EXPECT_EQ(connections, 6);
  EXPECT_EQ(accepted, 6);
  EXPECT_EQ(received, 30 * admin::kPipelineRequestBytes);
  EXPECT_NE(body.find("\nringside_info{fallback_reason=\"\",kernel_features=\"X,Y\","
                      "mode=\"incremental\"} 1\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("ringside_recv_completions_per_recycled_buffer_bucket{reactor=\"0\","
                      "le=\"+Inf\"}"),
            std::string::npos);
  // The scrapes are the endpoint reactor's own traffic, not the serving reactors'.
  EXPECT_EQ(metrics->reactor().Snapshot().totals.connections, 1u);
}

TEST(MetricsServerTest, PipelinedScrapesAndOtherRequestsAnswerInOrder) {
  HttpReactorsForTest http(/*count=*/1, /*incremental=*/false);
  std::unique_ptr<MetricsServer> metrics = StartOrDie(http.reactors());
  ASSERT_NE(metrics, nullptr);
  TestClient scraper(metrics->port());
  scraper.Send(std::string(kScrape) + "GET /other HTTP/1.1\r\nHost: t\r\n\r\n" + kScrape +
               "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n" +
               "HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  ResponseReader reader(&scraper);
  std::vector<std::string> statuses;
  for (int i = 0; i < 5; ++i) {
    const std::string one = reader.Next(/*head_only=*/i == 4);
    ASSERT_FALSE(one.empty()) << "response " << i;
    statuses.push_back(one.substr(9, 3));
    if (i == 3) {
      EXPECT_NE(one.find("Allow: GET, HEAD\r\n"), std::string::npos) << one;
    }
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"200", "404", "200", "405", "200"}));
}

TEST(MetricsServerTest, MalformedRequestAndBodyAreRefusedAndClosed) {
  HttpReactorsForTest http(/*count=*/1, /*incremental=*/true);
  std::unique_ptr<MetricsServer> metrics = StartOrDie(http.reactors());
  ASSERT_NE(metrics, nullptr);
  {
    TestClient client(metrics->port());
    client.Send("GET /metrics HTTP/1.1\r\nHost t\r\n\r\n");
    EXPECT_EQ(ReadResponse(client).substr(9, 3), "400");
    EXPECT_TRUE(client.WaitForClose());
  }
  {
    TestClient client(metrics->port());
    client.Send("GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    EXPECT_EQ(ReadResponse(client).substr(9, 3), "413");
    EXPECT_TRUE(client.WaitForClose());
  }
  EXPECT_EQ(metrics->reactor().Snapshot().totals.requests_rejected, 2u);
}

TEST(MetricsServerTest, ConnectionCloseIsHonoured) {
  HttpReactorsForTest http(/*count=*/1, /*incremental=*/true);
  std::unique_ptr<MetricsServer> metrics = StartOrDie(http.reactors());
  ASSERT_NE(metrics, nullptr);
  TestClient client(metrics->port());
  client.Send("GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  const std::string response = ReadResponse(client);
  EXPECT_EQ(response.substr(9, 3), "200");
  EXPECT_NE(response.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(client.WaitForClose());
}

TEST(MetricsServerTest, AddressesAreChecked) {
  HttpReactorsForTest http(/*count=*/1, /*incremental=*/true);
  auto start = [&](const std::string& address, bool insecure_public) {
    return MetricsServer::Start({.address = address, .insecure_public = insecure_public},
                                http.reactors(), {})
        .status();
  };
  EXPECT_EQ(start("127.0.0.1", false).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(start("localhost:0", false).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(start(":0", false).code(), absl::StatusCode::kInvalidArgument);
  const absl::Status public_refused = start("0.0.0.0:0", false);
  EXPECT_EQ(public_refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(public_refused.message().find("--metrics_insecure_public"), std::string::npos);
  EXPECT_TRUE(start("0.0.0.0:0", true).ok());
  EXPECT_TRUE(start("[::1]:0", false).ok());
  std::unique_ptr<MetricsServer> held = StartOrDie(http.reactors());
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(start(held->address(), false).code(), absl::StatusCode::kUnavailable);
}

// Scrapers on several threads while HTTP clients load the serving reactors, then a
// shutdown with scrapes in flight: under TSan, the reactors' answers and the hand-over to
// the endpoint's reactor; everywhere, no scrape hangs and shutdown returns.
TEST(MetricsServerTest, ConcurrentScrapesDuringLoadAndShutdown) {
  HttpReactorsForTest http(/*count=*/2, /*incremental=*/true);
  std::unique_ptr<MetricsServer> metrics = StartOrDie(http.reactors());
  ASSERT_NE(metrics, nullptr);
  std::atomic<bool> stop{false};
  std::thread load([&] {
    TestClient client(http.port());
    while (!stop.load()) PipelineRequests(client, 16);
  });
  std::vector<std::thread> scrapers;
  std::atomic<int> answered{0};
  for (int t = 0; t < 3; ++t) {
    scrapers.emplace_back([&] {
      TestClient scraper(metrics->port());
      for (int i = 0; i < 20; ++i) {
        scraper.Send(kScrape);
        if (ReadResponse(scraper).substr(9, 3) == "200") ++answered;
      }
    });
  }
  for (std::thread& t : scrapers) t.join();
  EXPECT_EQ(answered.load(), 60);
  // Scrapes in flight while the endpoint stops: it must not wait for them forever, nor
  // leave an answer to post into a reactor that is gone.
  std::vector<TestClient> last;
  for (int i = 0; i < 4; ++i) {
    last.emplace_back(metrics->port());
    last.back().Send(std::string(kScrape) + kScrape + kScrape);
  }
  metrics->Shutdown();
  metrics.reset();
  stop.store(true);
  load.join();
}

}  // namespace
}  // namespace ringside::metrics
