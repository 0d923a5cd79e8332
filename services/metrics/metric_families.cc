#include "ringside/services/metrics/metric_families.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

namespace ringside::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// One value per reactor, read from its totals.
struct Scalar {
  const char* name;
  const char* help;
  MetricType type;
  uint64_t (*value)(const ReactorTotals&);
};

// The per-reactor counters and gauges, in the order they are exposed.
constexpr Scalar kScalars[] = {
    {"ringside_connections", "Open connections.", MetricType::Gauge,
     [](const ReactorTotals& t) { return t.connections; }},
    {"ringside_connections_accepted_total", "Connections accepted.", MetricType::Counter,
     [](const ReactorTotals& t) { return t.connections_accepted; }},
    {"ringside_accept_failures_total",
     "Accepts that failed for want of a file descriptor or kernel memory (the listener "
     "backs off).",
     MetricType::Counter, [](const ReactorTotals& t) { return t.accept_failures; }},
    {"ringside_requests_total", "Requests handled, over closed and open connections.",
     MetricType::Counter, [](const ReactorTotals& t) { return t.requests; }},
    {"ringside_requests_rejected_total", "Requests refused by a protocol rule or limit.",
     MetricType::Counter, [](const ReactorTotals& t) { return t.requests_rejected; }},
    {"ringside_received_bytes_total", "Bytes received from clients.", MetricType::Counter,
     [](const ReactorTotals& t) { return t.recv_bytes; }},
    {"ringside_sent_bytes_total", "Bytes sent to clients.", MetricType::Counter,
     [](const ReactorTotals& t) { return t.bytes_sent; }},
    {"ringside_recv_completions_total", "Receive completions that carried bytes.",
     MetricType::Counter, [](const ReactorTotals& t) { return t.recv_completions; }},
    {"ringside_buf_more_completions_total",
     "Receive completions with IORING_CQE_F_BUF_MORE: the kernel keeps filling that buffer.",
     MetricType::Counter, [](const ReactorTotals& t) { return t.buf_more_completions; }},
    {"ringside_buffers_recycled_total", "Receive buffers given back to the kernel.",
     MetricType::Counter, [](const ReactorTotals& t) { return t.buffers_recycled; }},
    {"ringside_retired_bytes_total", "Bytes the recycled buffers held when recycled, summed.",
     MetricType::Counter, [](const ReactorTotals& t) { return t.retired_bytes; }},
    {"ringside_enobufs_stalls_total",
     "Receives that found their ring empty (ENOBUFS) and waited for a buffer.",
     MetricType::Counter, [](const ReactorTotals& t) { return t.enobufs_stalls; }},
    {"ringside_stale_releases_total",
     "Buffer releases that found no live ring (after teardown or reuse).", MetricType::Counter,
     [](const ReactorTotals& t) { return t.buffers.stale_releases; }},
    {"ringside_release_queue_depth",
     "Buffer releases from other threads waiting in the reactor's queue.", MetricType::Gauge,
     [](const ReactorTotals& t) { return t.release_queue_depth; }},
    {"ringside_release_queue_high_water", "The most releases the queue ever held at once.",
     MetricType::Gauge, [](const ReactorTotals& t) { return t.release_queue_high_water; }},
    {"ringside_input_bytes_held",
     "Received bytes connections hold: unconsumed input and buffers handlers keep.",
     MetricType::Gauge, [](const ReactorTotals& t) { return t.input_bytes_held; }},
    {"ringside_output_bytes_queued", "Output bytes not yet sent.", MetricType::Gauge,
     [](const ReactorTotals& t) { return t.output_bytes_queued; }},
    {"ringside_rings_live",
     "Buffer rings attached: connections' own rings (incremental) or the shared ring.",
     MetricType::Gauge, [](const ReactorTotals& t) { return t.buffers.rings_live; }},
    {"ringside_rings_pooled", "Buffer rings kept registered for reuse.", MetricType::Gauge,
     [](const ReactorTotals& t) { return t.buffers.rings_pooled; }},
    {"ringside_bgids_in_use", "Buffer group ids held by connection rings.", MetricType::Gauge,
     [](const ReactorTotals& t) { return t.buffers.bgids_in_use; }},
};

ClientMetric::Label ReactorLabel(const ReactorTotals& t) {
  return {.name = "reactor", .value = std::to_string(t.reactor_id)};
}

ClientMetric Sample(std::vector<ClientMetric::Label> labels, MetricType type, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return metric;
}

}  // namespace

std::vector<MetricFamily> ReactorMetricFamilies(const std::vector<ReactorTotals>& reactors,
                                                const ServerInfo& info) {
  std::vector<MetricFamily> families;

  MetricFamily server{.name = "ringside_info",
                      .help = "The server's buffer mode and io_uring features (value 1).",
                      .type = MetricType::Gauge};
  std::string features;
  for (const std::string& f : info.kernel_features) features += (features.empty() ? "" : ",") + f;
  server.metric.push_back(Sample({{"fallback_reason", info.fallback_reason},
                                  {"kernel_features", features},
                                  {"mode", info.mode}},
                                 MetricType::Gauge, 1));
  families.push_back(std::move(server));

  for (const Scalar& scalar : kScalars) {
    MetricFamily family{.name = scalar.name, .help = scalar.help, .type = scalar.type};
    for (const ReactorTotals& t : reactors) {
      family.metric.push_back(
          Sample({ReactorLabel(t)}, scalar.type, static_cast<double>(scalar.value(t))));
    }
    families.push_back(std::move(family));
  }

  MetricFamily refused{.name = "ringside_connections_refused_total",
                       .help = "Connections refused, by reason: connection_limit "
                               "(--max_connections, --max_connections_total) or stopping.",
                       .type = MetricType::Counter};
  for (const ReactorTotals& t : reactors) {
    refused.metric.push_back(Sample({ReactorLabel(t), {"reason", "connection_limit"}},
                                    MetricType::Counter,
                                    static_cast<double>(t.refused_connection_limit)));
    refused.metric.push_back(Sample({ReactorLabel(t), {"reason", "stopping"}},
                                    MetricType::Counter,
                                    static_cast<double>(t.refused_stopping)));
  }
  families.push_back(std::move(refused));

  MetricFamily per_buffer{
      .name = "ringside_recv_completions_per_recycled_buffer",
      .help = "Receive completions each buffer served before it went back to the kernel "
              "(shared ring: 1; incremental rings: more when small receives share a buffer).",
      .type = MetricType::Histogram};
  for (const ReactorTotals& t : reactors) {
    const RecycleHistogram& h = t.buffers.recycles;
    ClientMetric metric;
    metric.label = {ReactorLabel(t)};
    uint64_t cumulative = 0;
    for (size_t i = 0; i < RecycleHistogram::kBounds.size(); ++i) {
      cumulative += h.counts[i];
      metric.histogram.bucket.push_back(
          {.cumulative_count = cumulative,
           .upper_bound = static_cast<double>(RecycleHistogram::kBounds[i])});
    }
    cumulative += h.counts.back();
    metric.histogram.bucket.push_back(
        {.cumulative_count = cumulative, .upper_bound = std::numeric_limits<double>::infinity()});
    metric.histogram.sample_count = cumulative;
    metric.histogram.sample_sum = static_cast<double>(h.completions);
    per_buffer.metric.push_back(std::move(metric));
  }
  families.push_back(std::move(per_buffer));
  return families;
}

}  // namespace ringside::metrics
