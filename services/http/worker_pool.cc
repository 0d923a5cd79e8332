#include "ringside/services/http/worker_pool.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>
#include <vector>

namespace ringside::http {
namespace {

void FutexWait(std::atomic<uint32_t>* word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr,
          nullptr, 0);
}

void FutexWake(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr,
          nullptr, 0);
}

// The running worker's list of what AtBatchEnd deferred; null on other threads.
thread_local std::vector<std::function<void()>>* batch_end_tasks = nullptr;

}  // namespace

WorkerPool::WorkerPool(size_t threads, size_t queue_capacity) {
  for (size_t i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>(queue_capacity));
  for (auto& worker : workers_) worker->thread = std::thread([this, w = worker.get()] { Run(*w); });
}

WorkerPool::~WorkerPool() {
  stopping_.store(true, std::memory_order_release);
  for (auto& worker : workers_) worker->WakeThread();
  for (auto& worker : workers_) worker->thread.join();
}

void WorkerPool::Worker::WakeThread() {
  wake_word.fetch_add(1, std::memory_order_release);
  FutexWake(&wake_word);
}

void WorkerPool::Post(size_t worker, std::function<void()> task) {
  workers_[worker % workers_.size()]->tasks.Push(std::move(task));
}

void WorkerPool::PostQuietly(size_t worker, std::function<void()> task) {
  workers_[worker % workers_.size()]->tasks.PushQuietly(std::move(task));
}

void WorkerPool::Wake(size_t worker) { workers_[worker % workers_.size()]->tasks.Wake(); }

void WorkerPool::AtBatchEnd(std::function<void()> fn) {
  if (batch_end_tasks == nullptr) return fn();
  batch_end_tasks->push_back(std::move(fn));
}

void WorkerPool::Run(Worker& worker) {
  std::vector<std::function<void()>> at_batch_end;
  batch_end_tasks = &at_batch_end;
  for (;;) {
    const uint32_t seen = worker.wake_word.load(std::memory_order_acquire);
    const size_t ran = worker.tasks.Drain([](std::function<void()>&& task) { task(); });
    // By index, each moved out before it runs: a deferred function may defer another
    // (which runs in this drain too), and the list may then move under it.
    for (size_t i = 0; i < at_batch_end.size(); ++i) std::exchange(at_batch_end[i], nullptr)();
    at_batch_end.clear();
    if (ran > 0) continue;
    if (stopping_.load(std::memory_order_acquire)) return;
    // A wake-up after `seen` was read makes the wait return at once.
    if (worker.tasks.ReadyToSleep()) FutexWait(&worker.wake_word, seen);
  }
}

}  // namespace ringside::http
