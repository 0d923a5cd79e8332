#include "ringside/services/metrics/metrics_server.h"

#include <netdb.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "ringside/services/host_port.h"
#include "ringside/services/metrics/metrics_handler.h"

namespace ringside::metrics {
namespace {

// The endpoint's reactor: a scrape is one short request and one answer of some KiB per
// serving reactor, so a few shared-ring buffers and a small io_uring do.
ReactorConfig EndpointConfig(const HostPort& address, size_t max_connections) {
  ReactorConfig config;
  config.id = 0;
  config.address = address.host;
  config.port = address.port;
  config.exclusive_port = true;
  config.queue_entries = 64;
  config.buffers.incremental = false;
  config.buffers.buffer_size = 4096;
  config.buffers.shared_entries = 16;
  config.buffers.budget_bytes = 16 * 4096;
  config.output_pool_blocks = 64;  // answers are shared strings; blocks only for spills
  config.input_high_water = 16 << 10;  // the largest head (MetricsHandler::Limits) fits
  config.max_connections = max_connections;
  config.idle_timeout_ms = 60000;
  config.send_timeout_ms = 10000;
  config.shutdown_timeout_ms = 1000;
  config.release_queue_capacity = 1024;
  config.task_queue_capacity = 1024;
  return config;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const MetricsServerOptions& options, std::vector<Reactor*> reactors, ServerInfo info) {
  absl::StatusOr<HostPort> address = ParseHostPort(options.address, "metrics address");
  if (!address.ok()) return address.status();
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* resolved = nullptr;
  if (address->host.empty() ||
      getaddrinfo(address->host.c_str(), "0", &hints, &resolved) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the metrics address must be a numeric IPv4 or IPv6 address and a port, got '",
        options.address, "'"));
  }
  const bool loopback = IsLoopback(resolved->ai_addr);
  freeaddrinfo(resolved);
  if (!loopback && !options.insecure_public) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to serve the metrics on ", options.address,
        ": that address is not loopback, and the endpoint has no authentication. Use a "
        "loopback address (127.0.0.1), or accept the exposure with "
        "--metrics_insecure_public"));
  }

  std::unique_ptr<MetricsServer> server(new MetricsServer(std::move(reactors), std::move(info)));
  MetricsSource* source = &server->source_;
  net::DateCache* date = &server->date_;
  server->reactor_ = std::make_unique<Reactor>(
      EndpointConfig(*address, options.max_connections),
      [source, date] { return std::make_unique<MetricsHandler>(source, date); });
  if (absl::Status status = server->reactor_->Start(); !status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("cannot serve the metrics on ", options.address, ": ",
                                     status.message()));
  }
  const std::string host =
      address->host.find(':') != std::string::npos ? absl::StrCat("[", address->host, "]")
                                                    : address->host;
  server->address_ = absl::StrCat(host, ":", server->reactor_->port());
  return server;
}

MetricsServer::~MetricsServer() { Shutdown(); }

void MetricsServer::Shutdown() {
  if (shut_down_ || reactor_ == nullptr) return;
  shut_down_ = true;
  reactor_->Stop();
  reactor_->Join();
  // Answers still coming from the serving reactors post to the stopped reactor, whose
  // tasks never run; the source must live until they have been handed over.
  source_.WaitForScrapes();
}

}  // namespace ringside::metrics
