// MpscQueue<uint64_t> against moodycamel::ConcurrentQueue (its fast path: explicit
// producer and consumer tokens, bulk dequeue) and a mutex-protected std::deque, one
// consumer and 1, 2 or 4 producers. Three tables, as markdown:
//
//  1. Throughput, pinned: the consumer alone on CPU 0, the producers spread over the other
//     CPUs. Every item crosses from one core's cache to another's, as when worker threads
//     release buffers to a reactor on its own core. This is the table that matters.
//  2. Throughput, placed by the scheduler. Same-core-friendly: on a machine with few cores
//     the scheduler often time-slices a producer and the consumer on one core, where no
//     cache line has to move between cores, so this measures the cost of each operation
//     more than the hand-off.
//  3. Latency at low load: one producer on CPU 1 pushes its clock reading at a fixed rate
//     (1M items/s) while the consumer on CPU 0 polls; the figure is the time from just
//     before the push to the consumer holding the item (p50, p99, p99.9). The consumer
//     spins rather than yields, so this is the queue's hand-off, not the scheduler's.
//
// Throughput: every configuration moves the same number of items through a queue bounded
// at kCapacity items (per producer for moodycamel, see below), the consumer taking items
// in batches of up to kBatch, and a producer that finds the queue full yields. The three
// queues run interleaved (A B C A B C ...), so that noise from the rest of the machine
// hits all three alike. Each cell is the median over the runs, with the lowest and highest
// run in brackets; a ratio is the ratio of the medians, with the range of the ratios of
// the runs taken side by side in brackets.
//
//   bazel run --config=opt //queue:mpsc_queue_benchmark -- \
//       [--runs=9] [--tables=pinned,scheduler,latency]
//
// On a machine shared with other work, `chrt -f 50 bazel-bin/queue/mpsc_queue_benchmark`
// keeps the other jobs from preempting the benchmark's threads (see mpsc_queue.h for
// figures taken both ways).
#include <concurrentqueue/concurrentqueue.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ringside/queue/mpsc_queue.h"

namespace ringside {
namespace {

constexpr size_t kCapacity = 4096;
constexpr uint64_t kItemsPerRun = 4'000'000;
constexpr size_t kBatch = 256;

// Latency: items per second, items per run, and the first items of a run left out (lane
// registration, first touches of the rings, the producer's clock loop settling).
constexpr uint64_t kLatencyRate = 1'000'000;
constexpr uint64_t kLatencyItems = 200'000;
constexpr uint64_t kLatencyWarmup = 10'000;

class MpscBench {
 public:
  explicit MpscBench(int /*producers*/) : q_(kCapacity) {}
  class Producer {
   public:
    explicit Producer(MpscBench& b) : q_(b.q_) {}
    bool Push(uint64_t v) { return q_.TryPush(v); }

   private:
    MpscUlongQueue& q_;
  };
  template <typename F>
  size_t Consume(F&& fn) {
    return q_.Drain(fn, kBatch);
  }

 private:
  MpscUlongQueue q_;
};

// try_enqueue never allocates, which makes moodycamel bounded like the other two. Its
// explicit producers never give blocks back to the shared pool, so without a per-producer
// limit one producer can take every block and starve the rest forever (seen here with two
// producers). MAX_SUBQUEUE_SIZE caps each producer at kCapacity items; the total can thus
// reach producers * kCapacity, which favours moodycamel rather than handicapping it.
struct BoundedMoodycamelTraits : moodycamel::ConcurrentQueueDefaultTraits {
  static const size_t MAX_SUBQUEUE_SIZE = kCapacity;
};
using Moodycamel = moodycamel::ConcurrentQueue<uint64_t, BoundedMoodycamelTraits>;

class MoodycamelBench {
 public:
  explicit MoodycamelBench(int producers) : q_(kCapacity, producers, 0), consumer_(q_) {}
  class Producer {
   public:
    explicit Producer(MoodycamelBench& b) : q_(b.q_), token_(b.q_) {}
    bool Push(uint64_t v) { return q_.try_enqueue(token_, v); }

   private:
    Moodycamel& q_;
    Moodycamel::producer_token_t token_;
  };
  template <typename F>
  size_t Consume(F&& fn) {
    const size_t n = q_.try_dequeue_bulk(consumer_, buffer_.begin(), kBatch);
    for (size_t i = 0; i < n; ++i) fn(buffer_[i]);
    return n;
  }

 private:
  Moodycamel q_;
  Moodycamel::consumer_token_t consumer_;
  std::array<uint64_t, kBatch> buffer_;
};

class MutexBench {
 public:
  explicit MutexBench(int /*producers*/) {}
  class Producer {
   public:
    explicit Producer(MutexBench& b) : b_(b) {}
    bool Push(uint64_t v) {
      std::lock_guard<std::mutex> lock(b_.mu_);
      if (b_.q_.size() >= kCapacity) return false;
      b_.q_.push_back(v);
      return true;
    }

   private:
    MutexBench& b_;
  };
  template <typename F>
  size_t Consume(F&& fn) {
    size_t n = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      n = std::min(kBatch, q_.size());
      std::copy_n(q_.begin(), n, buffer_.begin());
      q_.erase(q_.begin(), q_.begin() + n);
    }
    for (size_t i = 0; i < n; ++i) fn(buffer_[i]);
    return n;
  }

 private:
  std::mutex mu_;
  std::deque<uint64_t> q_;
  std::array<uint64_t, kBatch> buffer_;
};

enum class Placement { kScheduler, kPinned };

int Cpus() { return static_cast<int>(std::thread::hardware_concurrency()); }

// Pins the calling thread to `cpu`, or lets it run anywhere when cpu < 0.
void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c = 0; c < Cpus(); ++c) {
    if (cpu < 0 || c == cpu) CPU_SET(c, &set);
  }
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// Moves kItemsPerRun items from `producers` threads to this one; returns millions of items
// per second, measured from the moment all producers are released until the last item
// is consumed.
template <typename Bench>
double RunOnce(int producers, Placement placement) {
  const int cpus = Cpus();
  const bool pin = placement == Placement::kPinned && cpus > 1;
  Bench bench(producers);
  const uint64_t per_producer = kItemsPerRun / producers;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      if (pin) PinTo(1 + p % (cpus - 1));
      typename Bench::Producer producer(bench);
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (uint64_t i = 0; i < per_producer; ++i) {
        const uint64_t v = static_cast<uint64_t>(p) << 32 | i;
        while (!producer.Push(v)) std::this_thread::yield();
      }
    });
  }
  if (pin) PinTo(0);
  while (ready.load() < producers) std::this_thread::yield();

  const uint64_t total = per_producer * producers;
  uint64_t received = 0;
  uint64_t checksum = 0;
  const auto start = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  while (received < total) {
    const size_t n = bench.Consume([&](uint64_t v) { checksum += v; });
    received += n;
    if (n == 0) std::this_thread::yield();
  }
  const auto end = std::chrono::steady_clock::now();
  for (std::thread& t : threads) t.join();
  if (pin) PinTo(-1);

  // Guards against a queue that loses or duplicates items and keeps the sum alive.
  const uint64_t expected_per_producer = per_producer * (per_producer - 1) / 2;
  uint64_t expected = 0;
  for (int p = 0; p < producers; ++p) {
    expected += (static_cast<uint64_t>(p) << 32) * per_producer + expected_per_producer;
  }
  if (checksum != expected) {
    std::fprintf(stderr, "checksum mismatch: %llu != %llu\n",
                 static_cast<unsigned long long>(checksum),
                 static_cast<unsigned long long>(expected));
    std::exit(1);
  }
  return static_cast<double>(total) / std::chrono::duration<double>(end - start).count() / 1e6;
}

uint64_t NowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

struct Percentiles {
  double p50, p99, p999;  // nanoseconds
};

// One producer on CPU 1 pushes its clock reading every 1/kLatencyRate seconds; the
// consumer, on CPU 0, polls without yielding (unless there is one CPU) and records how
// long each item took to arrive.
template <typename Bench>
Percentiles LatencyOnce() {
  const int cpus = Cpus();
  const bool pin = cpus > 1;
  Bench bench(1);
  std::atomic<bool> ready{false};
  std::thread producer_thread([&] {
    if (pin) PinTo(1);
    typename Bench::Producer producer(bench);
    ready.store(true, std::memory_order_release);
    const uint64_t period = 1'000'000'000 / kLatencyRate;
    uint64_t deadline = NowNs();
    for (uint64_t i = 0; i < kLatencyItems; ++i) {
      deadline += period;
      uint64_t now;
      while ((now = NowNs()) < deadline) {
      }
      // A full queue never happens at this rate; if it does, the wait counts.
      while (!producer.Push(now)) std::this_thread::yield();
    }
  });
  if (pin) PinTo(0);
  while (!ready.load(std::memory_order_acquire)) std::this_thread::yield();
  std::vector<uint64_t> latencies;
  latencies.reserve(kLatencyItems);
  while (latencies.size() < kLatencyItems) {
    const size_t n = bench.Consume([&](uint64_t pushed) { latencies.push_back(NowNs() - pushed); });
    if (n == 0 && !pin) std::this_thread::yield();
  }
  producer_thread.join();
  if (pin) PinTo(-1);
  latencies.erase(latencies.begin(), latencies.begin() + kLatencyWarmup);
  std::sort(latencies.begin(), latencies.end());
  auto at = [&](double q) {
    return static_cast<double>(latencies[static_cast<size_t>(q * (latencies.size() - 1))]);
  };
  return {at(0.50), at(0.99), at(0.999)};
}

// Median, lowest and highest of a set of runs.
struct Summary {
  double median, low, high;
};

Summary Summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

std::string Cell(const Summary& s, const char* format) {
  char buf[96];
  std::string f = std::string(format) + " [" + format + "–" + format + "]";
  std::snprintf(buf, sizeof(buf), f.c_str(), s.median, s.low, s.high);
  return buf;
}

// Ratio of the medians, with the range of the per-run ratios (runs taken side by side).
std::string RatioCell(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> ratios;
  for (size_t i = 0; i < a.size(); ++i) ratios.push_back(a[i] / b[i]);
  const Summary r = Summarize(ratios);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2fx [%.2f–%.2f]", Summarize(a).median / Summarize(b).median,
                r.low, r.high);
  return buf;
}

void PrintThroughputTable(Placement placement, int runs) {
  if (placement == Placement::kPinned) {
    std::printf(
        "\nThroughput, pinned: consumer alone on CPU 0, producers on CPUs 1..%d (every item "
        "crosses between cores)\n\n",
        Cpus() - 1);
  } else {
    std::printf(
        "\nThroughput, placed by the scheduler (same-core-friendly: a producer and the "
        "consumer often share a core, and no cache line moves)\n\n");
  }
  std::printf(
      "| producers | mpsc Mops/s | moodycamel Mops/s | mutex Mops/s | mpsc/moodycamel | "
      "mpsc/mutex |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  for (int producers : {1, 2, 4}) {
    std::vector<double> mpsc, moody, mutex;
    for (int run = 0; run < runs; ++run) {
      mpsc.push_back(RunOnce<MpscBench>(producers, placement));
      moody.push_back(RunOnce<MoodycamelBench>(producers, placement));
      mutex.push_back(RunOnce<MutexBench>(producers, placement));
    }
    std::printf("| %d | %s | %s | %s | %s | %s |\n", producers,
                Cell(Summarize(mpsc), "%.1f").c_str(), Cell(Summarize(moody), "%.1f").c_str(),
                Cell(Summarize(mutex), "%.1f").c_str(), RatioCell(mpsc, moody).c_str(),
                RatioCell(mpsc, mutex).c_str());
    std::fflush(stdout);
  }
}

void PrintLatencyTable(int runs) {
  std::printf(
      "\nLatency from push to the consumer holding the item, ns: one producer on CPU 1 at "
      "%.1fM items/s, consumer polling on CPU 0\n\n",
      kLatencyRate / 1e6);
  std::printf("| queue | p50 | p99 | p99.9 |\n|---|---:|---:|---:|\n");
  std::vector<double> p50[3], p99[3], p999[3];
  // A pause before each run: both threads spin for the whole run, and a run under a
  // real-time policy (chrt) that spun on past the kernel's real-time budget (95% of each
  // second) would be stopped for tens of milliseconds, which the percentiles would show.
  auto paused = [](auto run) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    return run();
  };
  for (int run = 0; run < runs; ++run) {
    const Percentiles r[3] = {paused(LatencyOnce<MpscBench>), paused(LatencyOnce<MoodycamelBench>),
                              paused(LatencyOnce<MutexBench>)};
    for (int q = 0; q < 3; ++q) {
      p50[q].push_back(r[q].p50);
      p99[q].push_back(r[q].p99);
      p999[q].push_back(r[q].p999);
    }
  }
  const char* names[3] = {"mpsc", "moodycamel", "mutex"};
  for (int q = 0; q < 3; ++q) {
    std::printf("| %s | %s | %s | %s |\n", names[q], Cell(Summarize(p50[q]), "%.0f").c_str(),
                Cell(Summarize(p99[q]), "%.0f").c_str(), Cell(Summarize(p999[q]), "%.0f").c_str());
  }
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  int runs = 9;
  std::string tables = "pinned,scheduler,latency";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--runs=", 7) == 0) {
      runs = std::max(1, std::atoi(argv[i] + 7));
    } else if (std::strncmp(argv[i], "--tables=", 9) == 0) {
      tables = argv[i] + 9;
    } else {
      std::fprintf(stderr, "usage: %s [--runs=N] [--tables=pinned,scheduler,latency]\n",
                   argv[0]);
      return 2;
    }
  }
  auto wants = [&](const char* table) { return tables.find(table) != std::string::npos; };
  std::printf(
      "%llu items per run, capacity %zu, consumer batch %zu, %d runs per cell (median "
      "[lowest–highest]), %d hardware threads\n",
      static_cast<unsigned long long>(kItemsPerRun), kCapacity, kBatch, runs, Cpus());
  if (wants("pinned")) PrintThroughputTable(Placement::kPinned, runs);
  if (wants("scheduler")) PrintThroughputTable(Placement::kScheduler, runs);
  if (wants("latency")) PrintLatencyTable(std::max(1, runs / 2));
  return 0;
}

}  // namespace
}  // namespace ringside

int main(int argc, char** argv) { return ringside::Main(argc, argv); }
