#include "ringside/services/http/worker_pool.h"

#include <utility>
#include <vector>

namespace ringside::http {
namespace {

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
    worker->posted.fetch_add(1, std::memory_order_release);
    worker->posted.notify_one();
  }
  for (auto& worker : workers_) worker->thread.join();
}

void WorkerPool::Post(size_t worker, std::function<void()> task) {
  Worker& w = *workers_[worker % workers_.size()];
  auto* boxed = new std::function<void()>(std::move(task));
  while (!w.tasks.TryPush(boxed)) std::this_thread::yield();
  w.posted.fetch_add(1, std::memory_order_release);
  w.posted.notify_one();
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
    const size_t ran = worker.tasks.Drain([](std::function<void()>*&& task) {
      (*task)();
      delete task;
    });
    for (std::function<void()>& fn : at_batch_end) fn();
    at_batch_end.clear();
    if (ran > 0) continue;
    if (stopping_.load(std::memory_order_acquire)) return;
    worker.posted.wait(seen, std::memory_order_acquire);
  }
}

}  // namespace ringside::http
