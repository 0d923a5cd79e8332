// metrics_server.h: the Prometheus metrics endpoint — a small reactor of its own serving
// GET /metrics (metrics_handler.h) from the serving reactors' totals (metrics_source.h).
//
//   absl::StatusOr<std::unique_ptr<MetricsServer>> metrics = MetricsServer::Start(
//       {.address = "127.0.0.1:9100"}, reactors, {.mode = "incremental"});
//   if (!metrics.ok()) ...;
//   printf("listening on %s (metrics)\n", (*metrics)->address().c_str());  // bound port
//   ...
//   (*metrics)->Shutdown();   // before the serving reactors stop
//
// The endpoint is ringside's own engine serving itself: one Reactor (shared buffer ring,
// a small io_uring) on its own thread, so a scrape never runs on a serving reactor beyond
// the copy of its counters. It holds at most `max_connections` connections (more are
// refused and counted like any reactor's). It has no authentication, so Start refuses an
// address that is not loopback unless `insecure_public`.
//
// Thread-safety: Start and Shutdown from one thread. The serving reactors must outlive the
// MetricsServer.
#ifndef RINGSIDE_SERVICES_METRICS_METRICS_SERVER_H_
#define RINGSIDE_SERVICES_METRICS_METRICS_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ringside/net/date_cache.h"
#include "ringside/reactor/reactor.h"
#include "ringside/services/metrics/metrics_source.h"

namespace ringside::metrics {

struct MetricsServerOptions {
  std::string address;           // numeric HOST:PORT or [IPV6]:PORT; port 0 picks one
  bool insecure_public = false;  // serve a non-loopback address
  size_t max_connections = 16;   // scrapers at once; more are refused
};

class MetricsServer {
 public:
  // Listens and serves. Errors: InvalidArgument for a malformed or non-numeric address,
  // FailedPrecondition for a non-loopback address without insecure_public, Unavailable
  // when it cannot be bound, and whatever the reactor's start-up reports.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const MetricsServerOptions& options, std::vector<Reactor*> reactors, ServerInfo info);
  ~MetricsServer();  // Shutdown()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Stops the endpoint: scrapes in flight are dropped (their connections close). Idempotent.
  void Shutdown();

  // HOST:PORT with the port actually bound.
  const std::string& address() const { return address_; }
  uint16_t port() const { return reactor_->port(); }
  // The endpoint's own reactor (its connections, refusals).
  Reactor& reactor() { return *reactor_; }

 private:
  MetricsServer(std::vector<Reactor*> reactors, ServerInfo info)
      : source_(std::move(reactors), std::move(info)) {}

  MetricsSource source_;
  net::DateCache date_;  // the endpoint reactor's
  std::unique_ptr<Reactor> reactor_;
  std::string address_;
  bool shut_down_ = false;
};

}  // namespace ringside::metrics

#endif  // RINGSIDE_SERVICES_METRICS_METRICS_SERVER_H_
