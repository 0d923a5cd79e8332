// metrics_source.h: what a scrape reads — every serving reactor's totals, gathered without
// blocking any reactor, turned into the Prometheus text format on the metrics reactor.
//
//   MetricsSource source(reactors, {.mode = "incremental", .kernel_features = features});
//   // In a handler on the metrics reactor, for GET /metrics:
//   io.PauseInput();
//   source.Scrape(io.handle(), [](ConnectionIo& io, const std::string& text) {
//     ... answer with `text` ...;
//     io.ResumeInput();
//   });
//   // Shutting down: stop and join the metrics reactor, then
//   source.WaitForScrapes();   // before the source or the serving reactors go
//
// A scrape asks each reactor for its totals (Reactor::CollectTotals: a task on its own
// loop, which copies its counters and sums its connections' between two iterations); the
// last reactor to answer posts the set to the scraping connection, whose reactor formats
// it. So a serving reactor does no formatting and never waits, and the data path counts
// nothing for the metrics (DESIGN.md, "Metrics").
//
// Thread-safety: Scrape() is called on the metrics reactor; the reactors' answers come on
// their own threads. The serving reactors must outlive the source.
#ifndef RINGSIDE_SERVICES_METRICS_METRICS_SOURCE_H_
#define RINGSIDE_SERVICES_METRICS_METRICS_SOURCE_H_

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "ringside/reactor/reactor.h"
#include "ringside/services/metrics/metric_families.h"

namespace ringside::metrics {

class MetricsSource {
 public:
  using Deliver = std::function<void(ConnectionIo& io, const std::string& text)>;

  MetricsSource(std::vector<Reactor*> reactors, ServerInfo info);
  MetricsSource(const MetricsSource&) = delete;
  MetricsSource& operator=(const MetricsSource&) = delete;

  // Gathers the totals, then runs `deliver` with the exposition text on the reactor of the
  // connection `handle` names, if that connection is still open then.
  void Scrape(const ConnectionHandle& handle, Deliver deliver);
  // Waits until every scrape begun has been handed to its connection's reactor.
  void WaitForScrapes();

  // The exposition text of `totals` (one per reactor, in order).
  std::string Format(const std::vector<ReactorTotals>& totals) const;

 private:
  const std::vector<Reactor*> reactors_;
  const ServerInfo info_;
  std::atomic<uint64_t> in_flight_{0};
};

}  // namespace ringside::metrics

#endif  // RINGSIDE_SERVICES_METRICS_METRICS_SOURCE_H_
