// metrics_handler.h: the HTTP/1.1 side of the metrics endpoint, on the metrics reactor.
//
// GET (or HEAD) /metrics answers 200 with the Prometheus text exposition format (version
// 0.0.4); any other path 404, any other method on /metrics 405 with `Allow: GET, HEAD`; a
// malformed request or one with a body gets the parser's error status and the connection
// closes. While a scrape is being gathered (MetricsSource), the connection's input is
// paused, so pipelined requests are answered in order.
//
//   net::DateCache date;   // the metrics reactor's
//   Reactor reactor(config, [&] { return std::make_unique<MetricsHandler>(&source, &date); });
//
// Thread-safety: one handler per connection, called on the metrics reactor thread.
#ifndef RINGSIDE_SERVICES_METRICS_METRICS_HANDLER_H_
#define RINGSIDE_SERVICES_METRICS_METRICS_HANDLER_H_

#include "ringside/net/date_cache.h"
#include "ringside/net/http_parser.h"
#include "ringside/reactor/connection_handler.h"
#include "ringside/services/metrics/metrics_source.h"

namespace ringside::metrics {

class MetricsHandler final : public ConnectionHandler {
 public:
  // The request limits of the endpoint: scrapers send a short head and no body.
  static net::HttpLimits Limits();

  // `source` and `date` must outlive the handler; `date` is the reactor thread's.
  MetricsHandler(MetricsSource* source, net::DateCache* date);

  void OnInput(ConnectionIo& io) override;

 private:
  enum class Route { kMetrics, kMethodNotAllowed, kNotFound };

  // Answers the request whose head was parsed last. False when the answer comes later
  // (a scrape: input is paused until it is sent).
  bool Answer(ConnectionIo& io);

  MetricsSource* const source_;
  net::DateCache* const date_;
  net::HttpParser parser_;
  net::HttpRequest request_;
  // Of the request being read, taken from its head.
  Route route_ = Route::kNotFound;
  bool head_only_ = false;
  bool keep_alive_ = true;
};

}  // namespace ringside::metrics

#endif  // RINGSIDE_SERVICES_METRICS_METRICS_HANDLER_H_
