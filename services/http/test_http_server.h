// test_http_server.h: the HTTP app served by a real Reactor on 127.0.0.1 (an ephemeral port),
// for tests over loopback TCP and a real io_uring.
//
//   TestHttpServer server({"incremental", /*incremental=*/true, /*handler_threads=*/0});
//   testing::TestClient client(server.port());
//
// The buffers are small (4 KiB, 4 per connection ring) so that requests of a few KiB already
// span buffers and exhaust a connection's ring. Test-only; thread-compatible.
#ifndef RINGSIDE_SERVICES_HTTP_TEST_HTTP_SERVER_H_
#define RINGSIDE_SERVICES_HTTP_TEST_HTTP_SERVER_H_

#include <cstdint>
#include <memory>

#include "ringside/reactor/reactor.h"
#include "ringside/services/http/http_app.h"
#include "ringside/services/http/http_handler.h"
#include "ringside/services/http/worker_pool.h"

namespace ringside::http {

struct ServerMode {
  const char* name;     // a gtest parameter name
  bool incremental;     // per-connection incremental rings, else shared rings
  int handler_threads;  // 0: the app runs on the reactor thread
  // The PROXY protocol versions every connection must start with (ReactorConfig), from
  // `proxy_trusted`; the header must be complete within the header timeout.
  ProxyVersions proxy_versions = ProxyVersions::kOff;
  const char* proxy_trusted = "127.0.0.0/8";
  net::DateCache::Clock clock;  // the app's clock (seconds); empty: the real one
};

class TestHttpServer {
 public:
  // Listening once constructed; aborts the test process if the reactor cannot start.
  explicit TestHttpServer(const ServerMode& mode,
                          uint32_t header_timeout_ms = HttpHandler::kDefaultHeaderTimeoutMs,
                          uint32_t body_timeout_ms = HttpHandler::kDefaultBodyTimeoutMs,
                          uint32_t body_min_rate = HttpHandler::kDefaultBodyMinRate);
  ~TestHttpServer();

  uint16_t port() const { return reactor_->port(); }
  Reactor& reactor() { return *reactor_; }

 private:
  HttpApp app_;
  std::unique_ptr<WorkerPool> workers_;
  HttpHandler::Settings settings_;
  std::unique_ptr<Reactor> reactor_;
};

}  // namespace ringside::http

#endif  // RINGSIDE_SERVICES_HTTP_TEST_HTTP_SERVER_H_
