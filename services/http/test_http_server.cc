#include "ringside/services/http/test_http_server.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "ringside/net/http_parser.h"

namespace ringside::http {

TestHttpServer::TestHttpServer(const ServerMode& mode, uint32_t header_timeout_ms,
                               uint32_t body_timeout_ms, uint32_t body_min_rate)
    : app_(mode.clock) {
  if (mode.handler_threads > 0) {
    workers_ = std::make_unique<WorkerPool>(static_cast<size_t>(mode.handler_threads));
  }
  ReactorConfig config;
  config.address = "127.0.0.1";
  config.buffers.incremental = mode.incremental;
  config.buffers.buffer_size = 4096;
  config.buffers.connection_entries = 4;
  config.buffers.shared_entries = 256;
  config.proxy_versions = mode.proxy_versions;
  config.proxy_trusted = *TrustedNetworks::Parse(mode.proxy_trusted);
  config.proxy_header_timeout_ms = header_timeout_ms;
  settings_ = {.app = &app_,
               .workers = workers_.get(),
               .header_timeout_ms = header_timeout_ms,
               .body_timeout_ms = body_timeout_ms,
               .body_min_rate = body_min_rate};
  reactor_ = std::make_unique<Reactor>(
      config, [this] { return std::make_unique<HttpHandler>(&settings_); });
  if (const absl::Status status = reactor_->Start(); !status.ok()) {
    std::fprintf(stderr, "reactor: %s\n", std::string(status.message()).c_str());
    std::abort();
  }
}

TestHttpServer::~TestHttpServer() {
  reactor_->Stop();
  reactor_->Join();
  // Workers post to the reactor, so they go first.
  workers_.reset();
  reactor_.reset();
}

}  // namespace ringside::http
