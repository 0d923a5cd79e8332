// metric_families.h: the reactors' totals as Prometheus metric families (prometheus-cpp's
// MetricFamily, which its TextSerializer writes in the text exposition format).
//
//   std::vector<ReactorTotals> totals = ...;   // one per reactor (Reactor::CollectTotals)
//   std::string text = prometheus::TextSerializer().Serialize(
//       ReactorMetricFamilies(totals, {.mode = "incremental", .kernel_features = {...}}));
//
// Every series is per reactor (label `reactor`) and none is per connection, so the number
// of series is fixed by the number of reactors (DESIGN.md, "Metrics"). Counters end in
// `_total`; `ringside_info` is 1 and carries the mode and kernel features as labels.
//
// Thread-safety: thread-safe (a pure function).
#ifndef RINGSIDE_SERVICES_METRICS_METRIC_FAMILIES_H_
#define RINGSIDE_SERVICES_METRICS_METRIC_FAMILIES_H_

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "ringside/reactor/reactor_stats.h"

namespace ringside::metrics {

// What does not change while the server runs: ringside_info's labels.
struct ServerInfo {
  std::string mode;                          // "incremental" or "shared"
  std::vector<std::string> kernel_features;  // e.g. "DEFER_TASKRUN"
  std::string fallback_reason;               // why not incremental; "" when it is
};

std::vector<prometheus::MetricFamily> ReactorMetricFamilies(
    const std::vector<ReactorTotals>& reactors, const ServerInfo& info);

}  // namespace ringside::metrics

#endif  // RINGSIDE_SERVICES_METRICS_METRIC_FAMILIES_H_
