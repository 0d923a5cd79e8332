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
  for (auto& worker : workers_) {
    worker->posted.fetch_add(1, std::memory_order_seq_cst);
    FutexWake(&worker->posted);
  }
  for (auto& worker : workers_) worker->thread.join();
}

void WorkerPool::Post(size_t worker, std::function<void()> task) {
  PostQuietly(worker, std::move(task));
  Wake(worker);
}

void WorkerPool::PostQuietly(size_t worker, std::function<void()> task) {
  Worker& w = *workers_[worker % workers_.size()];
  while (!w.tasks.TryPush(std::move(task))) {
    Wake(worker);  // a full queue: the worker must drain it
    std::this_thread::yield();
  }
}

void WorkerPool::Wake(size_t worker) {
  Worker& w = *workers_[worker % workers_.size()];
  w.posted.fetch_add(1, std::memory_order_seq_cst);
  if (w.sleeping.load(std::memory_order_seq_cst)) FutexWake(&w.posted);
}

void WorkerPool::AtBatchEnd(std::function<void()> fn) {
  if (batch_end_tasks == nullptr) return fn();
  batch_end_tasks->push_back(std::move(fn));
}

void WorkerPool::Run(Worker& worker) {
  std::vector<std::function<void()>> at_batch_end;
  batch_end_tasks = &at_batch_end;
  for (;;) {
    const uint32_t seen = worker.posted.load(std::memory_order_acquire);
    const size_t ran = worker.tasks.Drain([](std::function<void()>&& task) { task(); });
    for (std::function<void()>& fn : at_batch_end) fn();
    at_batch_end.clear();
    if (ran > 0) continue;
    if (stopping_.load(std::memory_order_acquire)) return;
    worker.sleeping.store(true, std::memory_order_seq_cst);
    if (worker.posted.load(std::memory_order_seq_cst) == seen) FutexWait(&worker.posted, seen);
    worker.sleeping.store(false, std::memory_order_relaxed);
  }
}

}  // namespace ringside::http
