#include "ringside/reactor/reactor.h"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ringside/buffers/locked_memory.h"
#include "ringside/reactor/sockets.h"
#include "ringside/reactor/reactor_impl.h"

namespace ringside {

uint64_t NextConnectionId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

Reactor::Impl::Impl(Reactor* self, const ReactorConfig& config, HandlerFactory handlers)
    : self_(self),
      config_(config),
      handlers_(std::move(handlers)),
      releases_(config.release_queue_capacity, [this] { Wake(); }, WakePolicy::kWhenAsleep),
      pool_(config.output_block_size, config.output_pool_blocks, kKeptOutputBlocks),
      tasks_(config.task_queue_capacity, [this] { Wake(); }, WakePolicy::kWhenAsleep),
      now_ms_(NowMs()) {}

Reactor::Impl::~Impl() {
  Stop();
  Join();
  // Leases lent to other threads (a worker's batch) may have been released after the
  // reactor thread ended: their words wait in the mailbox, and the rings they point into
  // lived until now. Apply them, then let the rings and the io_uring go.
  if (manager_) manager_->DrainReleases();
  manager_.reset();
  if (ring_ready_) io_uring_queue_exit(&ring_);
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  tasks_.Drain([](std::function<void()>*&& task) { delete task; });
  for (std::function<void()>* overflowed : overflow_tasks_) delete overflowed;
}

absl::Status Reactor::Impl::Start() {
  if (start_called_) return absl::FailedPreconditionError("Reactor::Start: called twice");
  start_called_ = true;
  if (stop_requested_.load(std::memory_order_acquire)) {
    return absl::FailedPreconditionError("Reactor::Start: the reactor was stopped already");
  }
  if (config_.exclusive_port && config_.port != 0) {
    if (absl::Status unused = CheckPortUnused(config_.address, config_.port); !unused.ok()) {
      return unused;
    }
  }
  absl::StatusOr<int> fd = Listen(config_.address, config_.port);
  if (!fd.ok()) return fd.status();
  listen_fd_ = *fd;
  port_ = LocalPort(listen_fd_);
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  std::promise<absl::Status> ready;
  std::future<absl::Status> started = ready.get_future();
  thread_ = std::thread([this, &ready] {
    thread_id_ = std::this_thread::get_id();
    absl::Status status = SetUp();
    const bool ok = status.ok();
    ready.set_value(std::move(status));
    if (ok) {
      Loop();
      Exit();
    }
    TearDown();
  });
  absl::Status status = started.get();
  if (!status.ok()) {
    thread_.join();
    return status;
  }
  started_.store(true, std::memory_order_release);
  return status;
}

void Reactor::Impl::Stop() {
  stop_requested_.store(true, std::memory_order_release);
  Wake();
}

void Reactor::Impl::Join() {
  // From the reactor thread itself (a handler or a posted task) there is nothing to wait
  // for that could end: the caller's thread must return first.
  if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id()) thread_.join();
}

void Reactor::Impl::Wake() {
  if (wake_fd_ >= 0) eventfd_write(wake_fd_, 1);
}

void Reactor::Impl::Post(std::function<void()> task) {
  auto* boxed = new std::function<void()>(std::move(task));
  if (std::this_thread::get_id() == thread_id_) {
    // Only this thread drains the mailbox, so waiting for room here would wait forever.
    if (!tasks_.TryPush(boxed)) overflow_tasks_.push_back(boxed);
    return;
  }
  tasks_.Push(boxed);
}

void Reactor::Impl::PostToConnection(const ConnectionHandle& handle,
                                     std::function<void(ConnectionIo&)> fn) {
  Post([this, handle, fn = std::move(fn)] { RunOnConnection(handle, fn); });
}

void Reactor::Impl::PostToConnections(std::vector<ConnectionTask> tasks) {
  Post([this, tasks = std::move(tasks)] {
    for (const ConnectionTask& task : tasks) RunOnConnection(task.handle, task.fn);
  });
}

void Reactor::Impl::RunOnConnection(const ConnectionHandle& handle,
                                    const std::function<void(ConnectionIo&)>& fn) {
  Connection* c = Find(handle.slot, handle.generation);
  if (c == nullptr || c->closing()) return;
  fn(*c);
  AfterHandler(*c);
}

void Reactor::Impl::WithSnapshot(SnapshotDetail detail,
                                 std::function<void(const ReactorSnapshot&)> done) {
  if (!started_.load(std::memory_order_acquire)) return done(ReactorSnapshot{});  // nothing runs
  if (std::this_thread::get_id() == thread_id_) return done(TakeSnapshot(detail));
  {
    std::lock_guard<std::mutex> lock(exit_mu_);
    if (!exited_) {
      Post([this, detail, done = std::move(done)] { done(TakeSnapshot(detail)); });
      return;
    }
  }
  // Exit() wrote it under the lock and never again.
  done(final_snapshot_);
}

ReactorSnapshot Reactor::Impl::Snapshot(bool with_buffers) {
  std::promise<ReactorSnapshot> taken;
  std::future<ReactorSnapshot> result = taken.get_future();
  WithSnapshot(with_buffers ? SnapshotDetail::kConnectionsWithBuffers
                            : SnapshotDetail::kConnections,
               [&taken](const ReactorSnapshot& snapshot) { taken.set_value(snapshot); });
  return result.get();
}

void Reactor::Impl::CollectTotals(std::function<void(const ReactorTotals&)> done) {
  WithSnapshot(SnapshotDetail::kTotals,
               [done = std::move(done)](const ReactorSnapshot& snapshot) { done(snapshot.totals); });
}

void Reactor::Impl::RunTasks() {
  tasks_.Drain([](std::function<void()>*&& task) {
    (*task)();
    delete task;
  });
  std::vector<std::function<void()>*> overflow;
  overflow.swap(overflow_tasks_);
  for (std::function<void()>* task : overflow) {
    (*task)();
    delete task;
  }
}

// Snapshots asked for after this answer with the last one instead of waiting forever.
void Reactor::Impl::Exit() {
  std::lock_guard<std::mutex> lock(exit_mu_);
  RunTasks();
  final_snapshot_ = TakeSnapshot(SnapshotDetail::kConnections);
  exited_ = true;
}

absl::Status Reactor::Impl::SetUp() {
  absl::Status status = SetUpRing();
  if (!status.ok()) return status;
  manager_ = std::make_unique<BufferManager>(&ring_, config_.buffers, &releases_);
  status = manager_->Init();
  if (!status.ok()) return status;
  incremental_ = manager_->incremental();
  fallback_reason_ = manager_->fallback_reason();
  if (incremental_) features_.push_back("IOU_PBUF_RING_INC");
  RegisterFileTable();
  ArmAccept();
  ArmWake();
  return absl::OkStatus();
}

absl::Status Reactor::Impl::SetUpRing() {
  struct Choice {
    unsigned flags;
    std::vector<std::string> names;
  };
  const Choice choices[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN,
       {"SINGLE_ISSUER", "DEFER_TASKRUN", "COOP_TASKRUN"}},
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
       {"SINGLE_ISSUER", "DEFER_TASKRUN"}},
      {IORING_SETUP_COOP_TASKRUN, {"COOP_TASKRUN"}},
      {0, {}},
  };
  int err = 0;
  for (const Choice& choice : choices) {
    io_uring_params params{};
    params.flags = choice.flags | IORING_SETUP_CQSIZE;
    params.cq_entries = config_.queue_entries * 4;
    err = io_uring_queue_init_params(config_.queue_entries, &ring_, &params);
    if (err == 0) {
      features_ = choice.names;
      ring_ready_ = true;
      return absl::OkStatus();
    }
  }
  if (err == -ENOMEM) {
    const unsigned cq_entries = config_.queue_entries * 4;
    return LockedMemoryError(absl::StrCat("io_uring_queue_init (", config_.queue_entries,
                                          " SQ, ", cq_entries, " CQ entries)"),
                             IoUringLockedBytes(config_.queue_entries, cq_entries));
  }
  return absl::InternalError(absl::StrCat("io_uring_queue_init: ", std::strerror(-err)));
}

void Reactor::Impl::RegisterFileTable() {
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  const uint64_t entries = std::min<uint64_t>(
      {config_.registered_files, config_.max_connections, files.rlim_cur});
  // A kernel or a limit that refuses the table leaves every connection on its descriptor.
  if (entries == 0 || io_uring_register_files_sparse(&ring_, static_cast<unsigned>(entries)) != 0) {
    return;
  }
  registered_files_ = static_cast<uint32_t>(entries);
  file_updates_.assign(ring_.sq.ring_entries, -1);
  features_.push_back("REGISTERED_FILES");
}

void Reactor::Impl::UpdateFileTable(uint32_t slot, int fd) {
  io_uring_sqe* sqe = Sqe();
  // The kernel reads the descriptor when it issues the update, at the next submit: it
  // waits in the entry of this SQE's position, which no other SQE uses until then. SQEs
  // are issued in order and an update completes as it is issued, so the operations queued
  // after it find the table as it leaves it.
  int* value = &file_updates_[static_cast<size_t>(sqe - ring_.sq.sqes)];
  *value = fd;
  io_uring_prep_files_update(sqe, value, 1, static_cast<int>(slot));
  io_uring_sqe_set_data64(sqe, UserData(kFileUpdate, slot));
}

void Reactor::Impl::OnFileUpdate(uint32_t slot, int32_t res) {
  if (res >= 0) return;
  // Out of kernel memory, say: a connection whose socket did not get into the table fails
  // its next operation on the entry (EBADF) and closes like any connection whose send or
  // receive fails.
  file_table_log_.Write([&] {
    return absl::StrCat("reactor ", config_.id, ": the registered file table's entry ", slot,
                        " could not be updated: ", std::strerror(-res));
  });
}

void Reactor::Impl::TearDown() {
  for (auto& c : connections_) {
    if (c == nullptr) continue;
    wheel_.Cancel(c.get());
    if (c->in_use) {
      if (!c->closing()) c->handler->OnClose();
      c->in.Clear();
      if (c->fd >= 0) close(c->fd);
    }
  }
  connections_.clear();
  // The manager and the io_uring stay until ~Impl: a lease another thread still holds
  // points into a ring, and its release into the manager.
  if (manager_) manager_->DrainReleases();
}

Reactor::Reactor(const ReactorConfig& config, HandlerFactory handlers)
    : impl_(std::make_unique<Impl>(this, config, std::move(handlers))) {}
Reactor::~Reactor() = default;
absl::Status Reactor::Start() { return impl_->Start(); }
void Reactor::Stop() { impl_->Stop(); }
void Reactor::Join() { impl_->Join(); }
void Reactor::Post(std::function<void()> task) { impl_->Post(std::move(task)); }
void Reactor::PostToConnection(const ConnectionHandle& handle,
                               std::function<void(ConnectionIo&)> fn) {
  impl_->PostToConnection(handle, std::move(fn));
}
void Reactor::PostToConnections(std::vector<ConnectionTask> tasks) {
  impl_->PostToConnections(std::move(tasks));
}
ReactorSnapshot Reactor::Snapshot(bool with_buffers) { return impl_->Snapshot(with_buffers); }
void Reactor::CollectTotals(std::function<void(const ReactorTotals&)> done) {
  impl_->CollectTotals(std::move(done));
}
uint16_t Reactor::port() const { return impl_->port(); }
uint32_t Reactor::id() const { return impl_->id(); }
const std::vector<std::string>& Reactor::features() const { return impl_->features(); }
bool Reactor::incremental() const { return impl_->incremental(); }
const std::string& Reactor::fallback_reason() const { return impl_->fallback_reason(); }

}  // namespace ringside
