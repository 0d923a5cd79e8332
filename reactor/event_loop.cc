// The io_uring loop: one submit-and-wait per iteration, then every completion, the
// mailboxes, buffer returns, due timers, the output queued meanwhile, what handlers
// deferred to the iteration's end (AtIterationEnd: e.g. waking the workers they posted
// to), the answers that came back meanwhile, and the slots closed meanwhile.
#include <algorithm>
#include <utility>

#include "ringside/reactor/reactor_impl.h"

namespace ringside {
namespace {

// The running reactor's list of what AtIterationEnd deferred; null on other threads.
thread_local std::vector<std::function<void()>>* iteration_end_tasks = nullptr;

}  // namespace

void Reactor::AtIterationEnd(std::function<void()> fn) {
  if (iteration_end_tasks == nullptr) return fn();
  iteration_end_tasks->push_back(std::move(fn));
}

void Reactor::Impl::RunIterationEnd(std::vector<std::function<void()>>& tasks) {
  // By index, each moved out before it runs: a task may defer another (which runs in this
  // iteration too), and the list may then move under it.
  for (size_t i = 0; i < tasks.size(); ++i) std::exchange(tasks[i], nullptr)();
  tasks.clear();
}

io_uring_sqe* Reactor::Impl::Sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    io_uring_submit(&ring_);
    ++totals_.submits;
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void Reactor::Impl::ArmWake() {
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof(wake_value_), 0);
  io_uring_sqe_set_data64(sqe, UserData(kWake));
}

void Reactor::Impl::Loop() {
  manager_->BindToCurrentThread();
  std::vector<std::function<void()>> at_iteration_end;
  iteration_end_tasks = &at_iteration_end;
  while (!finished_) {
    if (stop_requested_.load(std::memory_order_acquire) && !stopping_) BeginShutdown();
    WaitForCompletions();
    // One clock read per iteration stamps every completion it handles: activity times
    // only need the timers' millisecond granularity, not a clock read per recv and send.
    now_ms_ = NowMs();
    ++totals_.loop_iterations;
    ReapCompletions();
    HandleMailboxes();
    // Timers may produce output (a handler's timeout response), so they go first.
    RunTimers(now_ms_);
    DecayOutputPool(now_ms_);
    ResumeInputs();
    FlushOutputs();
    RunIterationEnd(at_iteration_end);
    if (tasks_.queue().ApproxSize() > 0) {
      // What the iteration handed off may be back already (a worker sharing this core ran
      // when it was woken, at the iteration's end): its answers go out with this
      // iteration's submit instead of one wake-up later. Once: a steady stream of tasks
      // must not keep the loop from its completions.
      HandleMailboxes();
      ResumeInputs();
      FlushOutputs();
      RunIterationEnd(at_iteration_end);
    }
    // Last: no Connection& of this iteration is held any more.
    RecycleSlots();
    if (stopping_ && (live_ == 0 || now_ms_ >= shutdown_deadline_ms_)) finished_ = true;
  }
  iteration_end_tasks = nullptr;
}

void Reactor::Impl::HandleMailboxes() {
  RunTasks();
  manager_->DrainReleases();
  manager_->Flush([this](RingId ring) { OnBuffersReturned(ring); });
}

// How long the loop may sleep: until the next timer may come due or, while stopping, the
// shutdown deadline; without either, until a completion.
bool Reactor::Impl::SleepDeadline(__kernel_timespec* ts) {
  uint64_t deadline = std::min(wheel_.NextDeadline(), output_decay_ms_);
  if (stopping_) deadline = std::min(deadline, shutdown_deadline_ms_);
  if (deadline == kNever) return false;
  const uint64_t now = NowMs();
  const uint64_t wait = deadline > now ? deadline - now : 0;
  ts->tv_sec = static_cast<int64_t>(wait / 1000);
  ts->tv_nsec = static_cast<int64_t>(wait % 1000) * 1000000;
  return true;
}

void Reactor::Impl::WaitForCompletions() {
  ++totals_.submits;
  if (!tasks_.ReadyToSleep() || !releases_.ReadyToSleep()) {
    // Posted while this thread was awake (no wake-up was sent for it): handled now, with
    // whatever completions are ready, instead of sleeping.
    io_uring_submit_and_get_events(&ring_);
    return;
  }
  __kernel_timespec ts{};
  const bool bounded = SleepDeadline(&ts);
  io_uring_cqe* cqe = nullptr;
  switch (config_.wait) {
    case WaitStrategy::kSubmitAndWait:
      io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, bounded ? &ts : nullptr, nullptr);
      break;
    case WaitStrategy::kSubmitThenWait:
      io_uring_submit(&ring_);
      ++totals_.submits;
      io_uring_wait_cqe_timeout(&ring_, &cqe, bounded ? &ts : nullptr);
      break;
    case WaitStrategy::kBusyPoll:
      io_uring_submit_and_get_events(&ring_);
      break;
  }
}

void Reactor::Impl::ReapCompletions() {
  io_uring_cqe* cqe;
  unsigned head;
  unsigned seen = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++seen;
    Dispatch(cqe->user_data, cqe->res, cqe->flags);
  }
  io_uring_cq_advance(&ring_, seen);
  totals_.cqes += seen;
}

void Reactor::Impl::Dispatch(uint64_t ud, int32_t res, uint32_t flags) {
  switch (OpOf(ud)) {
    case kAccept:
      return OnAccept(res, flags);
    case kAcceptRetry:
      return OnAcceptRetry();
    case kWake:
      return ArmWake();
    case kFileUpdate:
      return OnFileUpdate(SlotOf(ud), res);
    case kRecv:
    case kSend:
    case kPoll:
      break;
    default:
      return;
  }
  Connection* c = Find(SlotOf(ud), GenerationOf(ud));
  if (c == nullptr) return;
  switch (OpOf(ud)) {
    case kRecv:
      return OnRecv(*c, res, flags);
    case kSend:
      return OnSend(*c, res);
    case kPoll:
      return OnPoll(*c, res);
    default:
      return;
  }
}

Reactor::Impl::Connection* Reactor::Impl::Find(uint32_t slot, uint32_t generation) {
  if (slot >= connections_.size()) return nullptr;
  Connection* c = connections_[slot].get();  // null: a closed slot whose Connection was freed
  return c != nullptr && c->in_use && c->generation == generation ? c : nullptr;
}

}  // namespace ringside
