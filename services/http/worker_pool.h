// worker_pool.h: N threads that run tasks posted by reactor threads.
//
// Each worker has its own Mailbox (an MpscQueue and its wake-up protocol) and sleeps on a
// futex when idle, so the reactor posting work never takes a lock, and a post makes a
// system call only when the worker sleeps. (std::atomic::wait, used before, yielded four
// times before it slept: on a core shared with the reactor each yield was a switch to the
// reactor and back.) Posting to a given worker keeps order, which is how one connection's
// pipelined requests stay in order when the app runs off the reactor.
//
//   WorkerPool pool(2);
//   pool.Post(connection_id % pool.size(), [] { ...; WorkerPool::AtBatchEnd(flush); });
//   // A burst (a reactor's loop iteration): post quietly, wake once at its end.
//   pool.PostQuietly(w, task1); pool.PostQuietly(w, task2); pool.Wake(w);
//
// A task whose captures fit std::function's inline room (trivially copyable, 16 bytes: a
// pointer) costs no allocation to post.
//
// Thread-safety: Post(), PostQuietly() and Wake() are thread-safe. The destructor runs
// every task posted before it (woken or not) and joins the workers.
#ifndef RINGSIDE_SERVICES_HTTP_WORKER_POOL_H_
#define RINGSIDE_SERVICES_HTTP_WORKER_POOL_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "ringside/queue/mailbox.h"

namespace ringside::http {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads, size_t queue_capacity = 65536);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Post(size_t worker, std::function<void()> task);
  // Post() without the wake-up: the task waits for Wake(worker) or a later Post() to that
  // worker. A thread posting a burst of tasks wakes each worker once, after the burst, so
  // a worker sharing its core runs the burst in one go instead of preempting the poster
  // at its first task.
  void PostQuietly(size_t worker, std::function<void()> task);
  void Wake(size_t worker);
  // Called from a task running on a worker: runs `fn` on that worker once it has run the
  // tasks of its current drain (everything that was queued when it woke), so work the
  // tasks produce can leave in one hand-off (e.g. one wake-up of a reactor for all the
  // answers) instead of one per task. Outside a worker, runs `fn` at once.
  static void AtBatchEnd(std::function<void()> fn);
  size_t size() const { return workers_.size(); }

 private:
  struct Worker {
    explicit Worker(size_t capacity)
        : tasks(capacity, [this] { WakeThread(); }, WakePolicy::kWhenAsleep) {}
    void WakeThread();
    // Counts wake-ups; the worker sleeps on it (a futex) once its mailbox says it may.
    std::atomic<uint32_t> wake_word{0};
    Mailbox<std::function<void()>> tasks;  // by value: no box per task
    std::thread thread;
  };
  void Run(Worker& worker);

  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace ringside::http

#endif  // RINGSIDE_SERVICES_HTTP_WORKER_POOL_H_
