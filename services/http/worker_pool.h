// worker_pool.h: N threads that run tasks posted by reactor threads.
//
// Each worker has its own MpscQueue and sleeps on an atomic (a futex) when idle, so the
// reactor posting work never takes a lock. Posting to a given worker keeps order, which is
// how one connection's pipelined requests stay in order when the app runs off the reactor.
//
//   WorkerPool pool(2);
//   pool.Post(connection_id % pool.size(), [] { ...; WorkerPool::AtBatchEnd(flush); });
//
// Thread-safety: Post() is thread-safe. The destructor drains and joins the workers.
#ifndef RINGSIDE_SERVICES_HTTP_WORKER_POOL_H_
#define RINGSIDE_SERVICES_HTTP_WORKER_POOL_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "ringside/queue/mpsc_queue.h"

namespace ringside::http {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads, size_t queue_capacity = 65536);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Post(size_t worker, std::function<void()> task);
  // Called from a task running on a worker: runs `fn` on that worker once it has run the
  // tasks of its current drain (everything that was queued when it woke), so work the
  // tasks produce can leave in one hand-off (e.g. one wake-up of a reactor for all the
  // answers) instead of one per task. Outside a worker, runs `fn` at once.
  static void AtBatchEnd(std::function<void()> fn);
  size_t size() const { return workers_.size(); }

 private:
  struct Worker {
    explicit Worker(size_t capacity) : tasks(capacity) {}
    MpscQueue<std::function<void()>*> tasks;
    std::atomic<uint32_t> posted{0};
    std::thread thread;
  };
  void Run(Worker& worker);

  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace ringside::http

#endif  // RINGSIDE_SERVICES_HTTP_WORKER_POOL_H_
