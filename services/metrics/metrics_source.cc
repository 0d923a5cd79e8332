#include "ringside/services/metrics/metrics_source.h"

#include <prometheus/text_serializer.h>

#include <memory>
#include <utility>

namespace ringside::metrics {
namespace {

// One scrape's answers, filled by the reactors in any order.
struct Gathering {
  std::vector<ReactorTotals> totals;   // slot i written by reactor i's thread only
  std::atomic<size_t> unanswered;
  ConnectionHandle handle;
  MetricsSource::Deliver deliver;
};

}  // namespace

MetricsSource::MetricsSource(std::vector<Reactor*> reactors, ServerInfo info)
    : reactors_(std::move(reactors)), info_(std::move(info)) {}

void MetricsSource::Scrape(const ConnectionHandle& handle, Deliver deliver) {
  auto gathering = std::make_shared<Gathering>();
  gathering->totals.resize(reactors_.size());
  gathering->unanswered.store(reactors_.size(), std::memory_order_relaxed);
  gathering->handle = handle;
  gathering->deliver = std::move(deliver);
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  // The last answer (acq_rel: it sees every other reactor's slot) hands the set over.
  auto hand_over = [this, gathering] {
    gathering->handle.reactor->PostToConnection(
        gathering->handle, [this, gathering](ConnectionIo& io) {
          gathering->deliver(io, Format(gathering->totals));
        });
    in_flight_.fetch_sub(1, std::memory_order_release);
    in_flight_.notify_all();
  };
  if (reactors_.empty()) return hand_over();
  for (size_t i = 0; i < reactors_.size(); ++i) {
    reactors_[i]->CollectTotals([gathering, i, hand_over](const ReactorTotals& totals) {
      gathering->totals[i] = totals;
      if (gathering->unanswered.fetch_sub(1, std::memory_order_acq_rel) == 1) hand_over();
    });
  }
}

void MetricsSource::WaitForScrapes() {
  for (uint64_t n = in_flight_.load(std::memory_order_acquire); n != 0;
       n = in_flight_.load(std::memory_order_acquire)) {
    in_flight_.wait(n, std::memory_order_acquire);
  }
}

std::string MetricsSource::Format(const std::vector<ReactorTotals>& totals) const {
  return prometheus::TextSerializer().Serialize(ReactorMetricFamilies(totals, info_));
}

}  // namespace ringside::metrics
