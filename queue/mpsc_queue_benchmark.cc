// Throughput of MpscQueue<uint64_t> against moodycamel::ConcurrentQueue (its fast path:
// explicit producer and consumer tokens, bulk dequeue) and a mutex-protected std::deque,
// with 1, 2 and 4 producers and one consumer. Every configuration moves the same number of
// items through a queue bounded at kCapacity items (per producer for moodycamel, see
// below); the consumer takes items in batches from all three. Runs are interleaved (A B C A B C ...) so that machine noise hits all three
// alike, and the median run is reported as a markdown table.
//
// Two tables: threads where the scheduler puts them, then pinned with the consumer alone on
// CPU 0 and the producers spread over the other CPUs. On a machine with few cores the
// scheduler often time-slices a producer and the consumer on one core, which measures the
// cost of each operation rather than the hand-off between cores; the pinned table
// measures the hand-off, which is what a reactor fed by other threads sees.
//
//   bazel run -c opt //queue:mpsc_queue_benchmark
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
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "queue/mpsc_queue.h"

namespace ringside {
namespace {

constexpr size_t kCapacity = 4096;
constexpr uint64_t kItemsPerRun = 4'000'000;
constexpr size_t kBatch = 256;
constexpr int kRuns = 9;

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

// Pins the calling thread to `cpu`, or lets it run anywhere when cpu < 0.
void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  for (int c = 0; c < cpus; ++c) {
    if (cpu < 0 || c == cpu) CPU_SET(c, &set);
  }
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// Moves kItemsPerRun items from `producers` threads to this one; returns millions of items
// per second, measured from the moment all producers are released until the last item
// is consumed.
template <typename Bench>
double RunOnce(int producers, Placement placement) {
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
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

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void PrintTable(Placement placement) {
  std::printf("\n%s\n\n", placement == Placement::kScheduler
                              ? "Threads placed by the scheduler:"
                              : "Consumer pinned to CPU 0, producers to the other CPUs:");
  std::printf(
      "| producers | mpsc Mops/s | moodycamel Mops/s | mutex Mops/s | mpsc/moodycamel | "
      "mpsc/mutex |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  for (int producers : {1, 2, 4}) {
    std::vector<double> mpsc, moody, mutex;
    for (int run = 0; run < kRuns; ++run) {
      mpsc.push_back(RunOnce<MpscBench>(producers, placement));
      moody.push_back(RunOnce<MoodycamelBench>(producers, placement));
      mutex.push_back(RunOnce<MutexBench>(producers, placement));
    }
    const double a = Median(mpsc), b = Median(moody), c = Median(mutex);
    std::printf("| %d | %.1f | %.1f | %.1f | %.2fx | %.2fx |\n", producers, a, b, c, a / b, a / c);
    std::fflush(stdout);
  }
}

int Main() {
  std::printf(
      "%llu items per run, capacity %zu, consumer batch %zu, median of %d runs, "
      "%u hardware threads\n",
      static_cast<unsigned long long>(kItemsPerRun), kCapacity, kBatch, kRuns,
      std::thread::hardware_concurrency());
  PrintTable(Placement::kScheduler);
  PrintTable(Placement::kPinned);
  return 0;
}

}  // namespace
}  // namespace ringside

int main() { return ringside::Main(); }
