#include "ringside/services/admin/http_reactors_for_test.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string_view>

#include "ringside/services/http/http_handler.h"

namespace ringside::admin {

HttpReactorsForTest::HttpReactorsForTest(int count, bool incremental) {
  ReactorConfig config;
  config.address = "127.0.0.1";
  config.buffers.incremental = incremental;
  config.buffers.buffer_size = 4096;
  config.buffers.connection_entries = 4;
  config.buffers.shared_entries = 256;
  config.ring_idle_ms = 600000;
  for (int i = 0; i < count; ++i) {
    config.id = static_cast<uint32_t>(i);
    apps_.push_back(std::make_unique<http::HttpApp>());
    settings_.push_back(std::make_unique<http::HttpHandler::Settings>(
        http::HttpHandler::Settings{.app = apps_.back().get()}));
    reactors_.push_back(std::make_unique<Reactor>(config, [settings = settings_.back().get()] {
      return std::make_unique<http::HttpHandler>(settings);
    }));
    const absl::Status started = reactors_.back()->Start();
    if (!started.ok()) {
      ADD_FAILURE() << started;
      std::abort();
    }
    config.port = reactors_.front()->port();  // the others share the first one's port
  }
}

HttpReactorsForTest::~HttpReactorsForTest() { StopAndJoin(); }

void HttpReactorsForTest::StopAndJoin() {
  for (auto& reactor : reactors_) reactor->Stop();
  for (auto& reactor : reactors_) reactor->Join();
}

std::vector<Reactor*> HttpReactorsForTest::reactors() const {
  std::vector<Reactor*> out;
  for (const auto& reactor : reactors_) out.push_back(reactor.get());
  return out;
}

void PipelineRequests(testing::TestClient& client, int depth) {
  std::string batch;
  for (int i = 0; i < depth; ++i) batch += kPipelineRequest;
  client.Send(batch);
  // Every response ends its headers and carries the body "ok".
  const std::string responses = client.ReadUntil([depth](std::string_view got) {
    int seen = 0;
    for (size_t at = got.find("\r\n\r\nok"); at != std::string_view::npos;
         at = got.find("\r\n\r\nok", at + 1)) {
      ++seen;
    }
    return seen == depth;
  });
  ASSERT_EQ(responses.rfind("ok"), responses.size() - 2) << "not all responses arrived";
}

std::string ClientAddress(const testing::TestClient& client) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  getsockname(client.fd(), reinterpret_cast<sockaddr*>(&addr), &len);
  char host[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &addr.sin_addr, host, sizeof(host));
  return std::string(host) + ":" + std::to_string(ntohs(addr.sin_port));
}

}  // namespace ringside::admin
