#include "reactor/reactor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "third_party/liburing/liburing_compat.h"

namespace ringside {
namespace {

// user_data: operation in the low byte, then the connection slot and its generation, so a
// completion for a connection that has since closed is recognised and ignored.
enum Op : uint8_t { kAccept = 1, kWake, kRecv, kSend, kPoll, kIgnore };

uint64_t UserData(Op op, uint32_t slot = 0, uint32_t generation = 0) {
  return op | (uint64_t{slot & 0xffffff} << 8) | (uint64_t{generation} << 32);
}
Op OpOf(uint64_t ud) { return static_cast<Op>(ud & 0xff); }
uint32_t SlotOf(uint64_t ud) { return static_cast<uint32_t>((ud >> 8) & 0xffffff); }
uint32_t GenerationOf(uint64_t ud) { return static_cast<uint32_t>(ud >> 32); }

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::atomic<uint64_t> next_connection_id{1};

absl::StatusOr<int> Listen(const std::string& address, uint16_t port) {
  sockaddr_storage storage{};
  socklen_t len;
  int family;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
      inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
             inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--address ", address, " is not an IPv4 or IPv6 address"));
  }
  const int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), len) != 0 || listen(fd, 4096) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, ":", port, ": ", std::strerror(err)));
  }
  return fd;
}

uint16_t LocalPort(int fd) {
  sockaddr_storage storage{};
  socklen_t len = sizeof(storage);
  getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &len);
  return ntohs(storage.ss_family == AF_INET6
                   ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                   : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

std::string PeerName(int fd) {
  sockaddr_storage storage{};
  socklen_t len = sizeof(storage);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &len) != 0) return "";
  char host[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    return absl::StrCat("[", host, "]:", ntohs(a->sin6_port));
  }
  auto* a = reinterpret_cast<sockaddr_in*>(&storage);
  inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
  return absl::StrCat(host, ":", ntohs(a->sin_port));
}

}  // namespace

class Reactor::Impl {
 public:
  Impl(Reactor* self, const ReactorConfig& config, HandlerFactory handlers)
      : self_(self),
        config_(config),
        handlers_(std::move(handlers)),
        releases_(config.release_queue_capacity),
        tasks_(config.task_queue_capacity) {}

  ~Impl() {
    Stop();
    Join();
    if (listen_fd_ >= 0) close(listen_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
    std::function<void()>* task;
    while (tasks_.TryPop(&task)) delete task;
    for (std::function<void()>* overflowed : overflow_tasks_) delete overflowed;
  }

  absl::Status Start() {
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
    if (!status.ok()) thread_.join();
    return status;
  }

  void Stop() {
    stop_requested_.store(true, std::memory_order_release);
    Wake();
  }

  void Join() {
    if (thread_.joinable()) thread_.join();
  }

  void Post(std::function<void()> task) {
    auto* boxed = new std::function<void()>(std::move(task));
    if (std::this_thread::get_id() == thread_id_) {
      // Only this thread drains the queue, so waiting for room here would wait forever.
      if (!tasks_.TryPush(boxed)) overflow_tasks_.push_back(boxed);
      return;
    }
    while (!tasks_.TryPush(boxed)) {
      Wake();
      std::this_thread::yield();
    }
    if (!task_wake_pending_.exchange(true, std::memory_order_acq_rel)) Wake();
  }

  void PostToConnection(const ConnectionHandle& handle, std::function<void(ConnectionIo&)> fn) {
    Post([this, handle, fn = std::move(fn)] {
      Connection* c = Find(handle.slot, handle.generation);
      if (c == nullptr || c->closing) return;
      fn(*c);
      AfterHandler(*c);
    });
  }

  ReactorSnapshot Snapshot(bool with_buffers) {
    std::promise<ReactorSnapshot> done;
    std::future<ReactorSnapshot> result = done.get_future();
    {
      std::lock_guard<std::mutex> lock(exit_mu_);
      if (exited_) return final_snapshot_;
      Post([&] { done.set_value(TakeSnapshot(with_buffers)); });
    }
    return result.get();
  }

  uint16_t port() const { return port_; }
  uint32_t id() const { return config_.id; }
  const std::vector<std::string>& features() const { return features_; }
  bool incremental() const { return incremental_; }
  const std::string& fallback_reason() const { return fallback_reason_; }

 private:
  struct Connection final : ConnectionIo {
    Impl* impl = nullptr;
    uint32_t slot = 0;
    uint32_t generation = 0;
    bool in_use = false;
    int fd = -1;
    uint64_t id = 0;
    RingId ring;
    bool ring_attached = false;
    bool recv_armed = false;
    bool poll_armed = false;
    bool send_inflight = false;
    bool parked = false;        // receive stopped on ENOBUFS
    bool detaching = false;     // receive cancelled to give the ring back
    bool backpressure = false;  // receive stopped: too much unsent output
    bool input_paused = false;  // the handler asked for no input for now
    bool close_after_flush = false;
    bool lingering = false;     // response sent, write side shut, draining until EOF
    bool closing = false;
    bool in_output_list = false;
    uint64_t last_activity_ms = 0;
    uint64_t timer_deadline_ms = 0;  // 0: no timer armed
    std::string peer;
    InputStream in;
    std::string out;
    std::string sending;
    size_t sent = 0;
    std::unique_ptr<ConnectionHandler> handler;
    ConnectionStats stats;
    uint64_t ring_recycled_base = 0;
    uint64_t ring_retired_base = 0;
    uint64_t ring_stale_base = 0;

    InputStream& input() override { return in; }
    std::string& output() override { return out; }
    void CloseAfterFlush() override { close_after_flush = true; }
    void PauseInput() override { input_paused = true; }
    void ResumeInput() override {
      input_paused = false;
      impl->resume_input_.push_back({slot, generation});
    }
    void CountRequest() override { ++stats.requests; }
    void CountRejectedRequest() override { ++impl->totals_.requests_rejected; }
    void ArmTimer(uint32_t ms) override {
      timer_deadline_ms = impl->now_ms_ + ms;
      impl->ScheduleSweep(timer_deadline_ms);
    }
    void CancelTimer() override { timer_deadline_ms = 0; }
    ConnectionHandle handle() override { return {impl->self_, slot, generation, id}; }
    size_t unsent() const { return out.size() + sending.size() - sent; }
  };

  struct SlotRef {
    uint32_t slot;
    uint32_t generation;
  };

  absl::Status SetUp() {
    absl::Status status = SetUpRing();
    if (!status.ok()) return status;
    manager_ = std::make_unique<BufferManager>(&ring_, config_.buffers, &releases_,
                                               [this] { Wake(); });
    status = manager_->Init();
    if (!status.ok()) return status;
    incremental_ = manager_->incremental();
    fallback_reason_ = manager_->fallback_reason();
    if (incremental_) features_.push_back("IOU_PBUF_RING_INC");
    ArmAccept();
    ArmWake();
    return absl::OkStatus();
  }

  absl::Status SetUpRing() {
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
    return absl::InternalError(absl::StrCat("io_uring_queue_init: ", std::strerror(-err)));
  }

  void TearDown() {
    for (auto& c : connections_) {
      if (c && c->in_use) {
        c->in.Clear();
        if (c->fd >= 0) close(c->fd);
      }
    }
    connections_.clear();
    if (manager_) manager_->DrainReleases();
    // Leases held elsewhere past shutdown keep the manager alive with the ring.
    if (ring_ready_) {
      manager_.reset();
      io_uring_queue_exit(&ring_);
      ring_ready_ = false;
    }
  }

  io_uring_sqe* Sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {
      io_uring_submit(&ring_);
      ++totals_.submits;
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  void ArmAccept() {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_multishot_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, UserData(kAccept));
    accept_armed_ = true;
  }

  void ArmWake() {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof(wake_value_), 0);
    io_uring_sqe_set_data64(sqe, UserData(kWake));
  }

  void Wake() { eventfd_write(wake_fd_, 1); }

  void Loop() {
    manager_->BindToCurrentThread();
    while (!finished_) {
      if (stop_requested_.load(std::memory_order_acquire) && !stopping_) BeginShutdown();
      WaitForCompletions();
      // One clock read per iteration stamps every completion it handles: activity times
      // only need the sweep's millisecond granularity, not a clock read per recv and send.
      now_ms_ = NowMs();
      ++totals_.loop_iterations;
      ReapCompletions();
      RunTasks();
      manager_->DrainReleases();
      manager_->Flush([this](RingId ring) { OnBuffersReturned(ring); });
      // Sweeps may produce output (a handler's timeout response), so they go first.
      if (now_ms_ >= next_sweep_ms_) Sweep(now_ms_);
      ResumeInputs();
      FlushOutputs();
      if (stopping_ && (live_ == 0 || now_ms_ >= shutdown_deadline_ms_)) finished_ = true;
    }
  }

  // Snapshots asked for after this answer with the last one instead of waiting forever.
  void Exit() {
    std::lock_guard<std::mutex> lock(exit_mu_);
    RunTasks();
    final_snapshot_ = TakeSnapshot(/*with_buffers=*/false);
    exited_ = true;
  }

  // How long the loop may sleep: until the next sweep, if one is due at all.
  bool SleepDeadline(__kernel_timespec* ts) {
    if (next_sweep_ms_ == kNever) return false;
    const uint64_t now = NowMs();
    const uint64_t wait = next_sweep_ms_ > now ? next_sweep_ms_ - now : 0;
    ts->tv_sec = static_cast<int64_t>(wait / 1000);
    ts->tv_nsec = static_cast<int64_t>(wait % 1000) * 1000000;
    return true;
  }

  void ScheduleSweep(uint64_t at_ms) { next_sweep_ms_ = std::min(next_sweep_ms_, at_ms); }

  void WaitForCompletions() {
    ++totals_.submits;
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

  void ReapCompletions() {
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

  void Dispatch(uint64_t ud, int32_t res, uint32_t flags) {
    switch (OpOf(ud)) {
      case kAccept:
        return OnAccept(res, flags);
      case kWake:
        return ArmWake();
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

  Connection* Find(uint32_t slot, uint32_t generation) {
    if (slot >= connections_.size()) return nullptr;
    Connection* c = connections_[slot].get();
    return c->in_use && c->generation == generation ? c : nullptr;
  }

  void OnAccept(int32_t res, uint32_t flags) {
    if (!(flags & IORING_CQE_F_MORE)) accept_armed_ = false;
    if (res >= 0) {
      if (stopping_) {
        Refuse(res, &totals_.refused_stopping);
      } else if (live_ >= config_.max_connections ||
                 (config_.total_connections && !config_.total_connections->TryAcquire())) {
        Refuse(res, &totals_.refused_connection_limit);
      } else {
        NewConnection(res);
      }
    }
    if (!accept_armed_ && !stopping_) ArmAccept();
  }

  void Refuse(int fd, uint64_t* reason) {
    ++totals_.connections_refused;
    ++*reason;
    close(fd);
  }

  // A connection admitted past the limits; it gives its place back in MaybeFree.
  void NewConnection(int fd) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    absl::StatusOr<RingId> ring = manager_->AttachRing();
    if (!ring.ok()) {
      // Out of bgids or over the buffer budget: refuse this connection only.
      if (config_.total_connections) config_.total_connections->Release();
      return Refuse(fd, &totals_.refused_no_buffers);
    }
    uint32_t slot;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else {
      slot = static_cast<uint32_t>(connections_.size());
      connections_.push_back(std::make_unique<Connection>());
      connections_.back()->impl = this;
      connections_.back()->slot = slot;
    }
    Connection& c = *connections_[slot];
    c.in_use = true;
    c.fd = fd;
    c.id = next_connection_id.fetch_add(1, std::memory_order_relaxed);
    c.handler = handlers_();
    c.stats = ConnectionStats{};
    c.last_activity_ms = now_ms_;
    c.timer_deadline_ms = 0;
    ++live_;
    ++totals_.connections_accepted;
    AttachRing(c, *ring);
    ArmRecv(c);
    ScheduleSweep(c.last_activity_ms + SweepPeriodMs());
  }

  void AttachRing(Connection& c, RingId ring) {
    c.ring = ring;
    c.ring_attached = true;
    const BufferRingStats& s = manager_->ring(ring)->stats();
    c.ring_recycled_base = s.buffers_recycled;
    c.ring_retired_base = s.retired_bytes;
    c.ring_stale_base = s.stale_releases;
    if (manager_->incremental()) {
      if (ring_owner_.size() <= ring.slot) ring_owner_.resize(ring.slot + 1);
      ring_owner_[ring.slot] = {c.slot, c.generation};
    }
  }

  void DetachRing(Connection& c) {
    if (!c.ring_attached) return;
    if (BufferRing* r = manager_->ring(c.ring)) {
      const uint64_t recycled = r->stats().buffers_recycled - c.ring_recycled_base;
      const uint64_t retired = r->stats().retired_bytes - c.ring_retired_base;
      c.stats.buffers_recycled += recycled;
      c.stats.retired_bytes += retired;
      c.stats.stale_releases += r->stats().stale_releases - c.ring_stale_base;
      if (manager_->incremental()) {
        detached_recycled_ += recycled;
        detached_retired_bytes_ += retired;
      }
    }
    manager_->DetachRing(c.ring);
    c.ring_attached = false;
  }

  void ArmRecv(Connection& c) {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = manager_->bgid(c.ring);
    io_uring_sqe_set_data64(sqe, UserData(kRecv, c.slot, c.generation));
    c.recv_armed = true;
  }

  void CancelRecv(Connection& c) {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_cancel64(sqe, UserData(kRecv, c.slot, c.generation), 0);
    io_uring_sqe_set_data64(sqe, UserData(kIgnore));
  }

  void OnRecv(Connection& c, int32_t res, uint32_t flags) {
    const bool more = flags & IORING_CQE_F_MORE;
    if (!more) c.recv_armed = false;
    if (res > 0) {
      BufferLease lease = manager_->Receive(c.ring, res, flags);
      ++c.stats.recv_completions;
      ++totals_.recv_completions;
      c.stats.recv_bytes += static_cast<uint64_t>(res);
      if (flags & IORING_CQE_F_BUF_MORE) ++c.stats.buf_more_completions;
      c.last_activity_ms = now_ms_;
      if (c.lingering || c.closing) {
        lease.Reset();
      } else {
        c.in.Append(std::move(lease));
        RunHandler(c);
      }
    } else if (res == -ENOBUFS) {
      c.parked = true;
      if (!manager_->incremental()) parked_.push_back({c.slot, c.generation});
      ++c.stats.enobufs_stalls;
      ++totals_.enobufs_stalls;
    } else if (res == -ECANCELED) {
      // Our own cancel: detach, backpressure or close decides below.
    } else {
      // EOF or a socket error. Output already produced is still sent (half-close).
      if (res == 0 && !c.lingering && !c.closing &&
          (c.unsent() > 0 || c.send_inflight || c.input_paused)) {
        c.close_after_flush = true;
        c.input_paused = true;
      } else {
        return Close(c);
      }
    }
    if (c.recv_armed) return;
    if (c.closing) return MaybeFree(c);
    if (c.detaching) return FinishDetach(c);
    if (!c.parked && !c.backpressure && !c.close_after_flush) {
      ++c.stats.rearms;
      ArmRecv(c);
    }
  }

  void RunHandler(Connection& c) {
    if (c.input_paused || c.close_after_flush || c.closing || c.in.empty()) return;
    c.handler->OnInput(c);
    AfterHandler(c);
  }

  void AfterHandler(Connection& c) {
    if (c.close_after_flush) c.in.Clear();
    if (!c.in_output_list && (!c.out.empty() || c.close_after_flush)) {
      c.in_output_list = true;
      output_list_.push_back({c.slot, c.generation});
    }
    if (!c.backpressure && c.unsent() > config_.output_high_water) {
      // A client that does not read must not grow our memory: stop reading until it does.
      c.backpressure = true;
      ++totals_.backpressure_pauses;
      if (c.recv_armed) CancelRecv(c);
    }
  }

  void FlushOutputs() {
    for (SlotRef ref : output_list_) {
      Connection* c = Find(ref.slot, ref.generation);
      if (c == nullptr) continue;
      c->in_output_list = false;
      if (c->closing) continue;
      if (!c->send_inflight) StartSend(*c);
    }
    output_list_.clear();
  }

  void StartSend(Connection& c) {
    if (c.sending.size() == c.sent) {
      c.sending.clear();
      c.sent = 0;
      std::swap(c.sending, c.out);
    }
    if (c.sending.empty()) {
      if (c.close_after_flush) BeginLinger(c);
      return;
    }
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_send(sqe, c.fd, c.sending.data() + c.sent, c.sending.size() - c.sent,
                       MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, UserData(kSend, c.slot, c.generation));
    c.send_inflight = true;
  }

  void OnSend(Connection& c, int32_t res) {
    c.send_inflight = false;
    if (c.closing) return MaybeFree(c);
    if (res < 0) return Close(c);
    c.sent += static_cast<size_t>(res);
    c.stats.bytes_sent += static_cast<uint64_t>(res);
    c.last_activity_ms = now_ms_;
    if (c.backpressure && c.unsent() <= config_.output_high_water / 2) {
      c.backpressure = false;
      RunHandler(c);
      if (!c.recv_armed && !c.parked && !c.detaching && !c.close_after_flush && c.ring_attached) {
        ++c.stats.rearms;
        ArmRecv(c);
      }
    }
    StartSend(c);
  }

  // The response is out: shut our write side and wait for the client's EOF, so the
  // client reads the whole response instead of a reset caused by its unread pipelined bytes.
  void BeginLinger(Connection& c) {
    if (c.lingering) return;
    c.lingering = true;
    c.last_activity_ms = now_ms_;
    ++lingering_;
    ScheduleSweep(c.last_activity_ms + SweepPeriodMs());
    shutdown(c.fd, SHUT_WR);
    if (c.parked || !c.ring_attached) return Close(c);
    if (!c.recv_armed) ArmRecv(c);
  }

  void OnBuffersReturned(RingId ring) {
    if (manager_->incremental()) {
      if (ring.slot >= ring_owner_.size()) return;
      Connection* c = Find(ring_owner_[ring.slot].slot, ring_owner_[ring.slot].generation);
      if (c != nullptr && c->ring_attached && c->ring == ring) Unpark(*c);
      return;
    }
    std::vector<SlotRef> parked;
    parked.swap(parked_);
    for (SlotRef ref : parked) {
      if (Connection* c = Find(ref.slot, ref.generation)) Unpark(*c);
    }
  }

  void Unpark(Connection& c) {
    if (!c.parked || c.recv_armed || c.closing) return;
    c.parked = false;
    if (c.backpressure || c.detaching || c.close_after_flush) return;
    ++c.stats.rearms;
    ArmRecv(c);
  }

  void ResumeInputs() {
    std::vector<SlotRef> resume;
    resume.swap(resume_input_);
    for (SlotRef ref : resume) {
      Connection* c = Find(ref.slot, ref.generation);
      if (c != nullptr) RunHandler(*c);
    }
  }

  void RunTasks() {
    task_wake_pending_.store(false, std::memory_order_seq_cst);
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

  // How often sweeps run while something could come due: ring detaches and lingering
  // closes need about twice per period, idle timeouts are coarser. Nothing pending: never,
  // so an idle reactor sleeps without a timeout.
  uint64_t SweepPeriodMs() const {
    if (stopping_) return kStoppingSweepMs;
    if ((manager_->incremental() && live_ > 0) || lingering_ > 0) {
      return std::max<uint64_t>(std::min<uint64_t>(config_.ring_idle_ms, kLingerMs) / 2, 5);
    }
    if (live_ > 0 && config_.idle_timeout_ms > 0) {
      return std::max<uint64_t>(config_.idle_timeout_ms / 4, 5);
    }
    return kNever;
  }

  // Idle connections give their ring back, or close after the idle timeout; lingering
  // closes end; handler timers fire; shutdown closes the rest.
  void Sweep(uint64_t now) {
    next_sweep_ms_ = kNever;
    for (auto& slot : connections_) {
      Connection& c = *slot;
      if (!c.in_use || c.closing) continue;
      const uint64_t quiet = now - c.last_activity_ms;
      if (c.lingering) {
        if (quiet >= kLingerMs) Close(c);
        continue;
      }
      const bool quiescent = c.unsent() == 0 && !c.send_inflight;
      // Not Close(): the kernel may still hold sent bytes the client has not taken, and a
      // close() with unread input resets the connection and drops them. Linger instead: FIN
      // after those bytes; the client's EOF or the shutdown deadline ends it.
      if (stopping_ && quiescent) {
        BeginLinger(c);
        continue;
      }
      if (config_.idle_timeout_ms > 0 && quiescent && !c.input_paused &&
          quiet >= config_.idle_timeout_ms) {
        ++totals_.idle_timeouts;
        Close(c);
        continue;
      }
      if (c.timer_deadline_ms != 0 && !c.input_paused) {
        if (now >= c.timer_deadline_ms) {
          c.timer_deadline_ms = 0;
          ++totals_.handler_timeouts;
          c.handler->OnTimeout(c);
          AfterHandler(c);
        } else {
          ScheduleSweep(c.timer_deadline_ms);
        }
      }
      if (manager_->incremental() && c.ring_attached && c.recv_armed && !c.detaching &&
          quiet >= config_.ring_idle_ms && quiescent && c.in.empty() && !c.in.holds_buffer() &&
          !manager_->ring(c.ring)->has_readers()) {
        c.detaching = true;
        CancelRecv(c);
      }
    }
    const uint64_t period = SweepPeriodMs();
    if (period != kNever) ScheduleSweep(now + period);
  }

  void FinishDetach(Connection& c) {
    c.detaching = false;
    if (!c.in.empty() || c.in.holds_buffer() || c.parked) {
      // Bytes arrived while the cancel was in flight: stay attached.
      if (!c.parked) ArmRecv(c);
      return;
    }
    DetachRing(c);
    ++totals_.idle_detaches;
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_poll_add(sqe, c.fd, POLLIN);
    io_uring_sqe_set_data64(sqe, UserData(kPoll, c.slot, c.generation));
    c.poll_armed = true;
  }

  void OnPoll(Connection& c, int32_t res) {
    c.poll_armed = false;
    if (c.closing) return MaybeFree(c);
    if (res < 0) return Close(c);
    absl::StatusOr<RingId> ring = manager_->AttachRing();
    if (!ring.ok()) {
      // Over budget right now: this connection cannot be served.
      ++totals_.connections_refused;
      return Close(c);
    }
    AttachRing(c, *ring);
    c.last_activity_ms = now_ms_;
    ScheduleSweep(c.last_activity_ms + SweepPeriodMs());
    ++c.stats.rearms;
    ArmRecv(c);
  }

  void Close(Connection& c) {
    // Closing already: this is one of the completions it waits for (e.g. the client's EOF
    // raced our cancel), so it may be the last.
    if (c.closing) return MaybeFree(c);
    c.closing = true;
    c.in.Clear();
    if (c.lingering) --lingering_;
    if (c.recv_armed || c.poll_armed || c.send_inflight) {
      io_uring_sqe* sqe = Sqe();
      io_uring_prep_cancel_fd(sqe, c.fd, IORING_ASYNC_CANCEL_ALL);
      io_uring_sqe_set_data64(sqe, UserData(kIgnore));
    }
    MaybeFree(c);
  }

  void MaybeFree(Connection& c) {
    if (c.recv_armed || c.poll_armed || c.send_inflight) return;
    close(c.fd);
    DetachRing(c);
    c.handler.reset();
    // The slot is reused, never freed, so it must give back what this connection's output
    // grew to. Swapped, not assigned: libstdc++'s move-assignment of an empty string keeps
    // the old buffer.
    std::string().swap(c.out);
    std::string().swap(c.sending);
    c.peer.clear();
    c.sent = 0;
    c.fd = -1;
    c.in_use = false;
    c.parked = c.detaching = c.backpressure = c.input_paused = false;
    c.close_after_flush = c.lingering = c.closing = false;
    // Its entry in output_list_ (if any) names the old generation and will be skipped; the
    // flag must not make the slot's next connection think it is queued already.
    c.in_output_list = false;
    ++c.generation;
    free_slots_.push_back(c.slot);
    --live_;
    if (config_.total_connections) config_.total_connections->Release();
  }

  void BeginShutdown() {
    stopping_ = true;
    shutdown_deadline_ms_ = now_ms_ + config_.shutdown_timeout_ms;
    next_sweep_ms_ = 0;
    if (accept_armed_) {
      io_uring_sqe* sqe = Sqe();
      io_uring_prep_cancel64(sqe, UserData(kAccept), 0);
      io_uring_sqe_set_data64(sqe, UserData(kIgnore));
    }
    // The pending accept holds its own reference to the socket; closing ours refuses new
    // connections at once instead of letting them queue.
    close(listen_fd_);
    listen_fd_ = -1;
    for (auto& c : connections_) {
      if (c->in_use && !c->closing && (c->unsent() > 0 || c->send_inflight)) {
        c->close_after_flush = true;
      }
    }
  }

  ReactorSnapshot TakeSnapshot(bool with_buffers) {
    ReactorSnapshot snap;
    ReactorTotals& t = snap.totals;
    t = totals_;
    t.reactor_id = config_.id;
    t.connections = live_;
    t.release_queue_depth = releases_.ApproxSize();
    t.release_queue_high_water = releases_.HighWater();
    t.buffers = manager_->stats();
    if (BufferRing* shared = manager_->shared_ring()) {
      t.buffers_recycled = shared->stats().buffers_recycled;
      t.retired_bytes = shared->stats().retired_bytes;
    } else {
      t.buffers_recycled = detached_recycled_;
      t.retired_bytes = detached_retired_bytes_;
    }
    for (auto& slot : connections_) {
      Connection& c = *slot;
      // A slot's stream lives as long as the reactor and counts for every connection the
      // slot has held, so summing every slot gives the reactor's total.
      t.input_bytes_copied += c.in.copied_bytes();
      if (!c.in_use) continue;
      ConnectionStats s = c.stats;
      s.connection_id = c.id;
      s.reactor_id = config_.id;
      s.fd = c.fd;
      // Looked up on the first snapshot, not at accept: connection churn should not pay
      // for stats nobody asked for, and later snapshots should not pay a syscall each.
      if (c.peer.empty()) c.peer = PeerName(c.fd);
      s.peer = c.peer;
      s.incremental = manager_->incremental();
      s.ring_attached = c.ring_attached;
      if (BufferRing* r = c.ring_attached ? manager_->ring(c.ring) : nullptr) {
        s.bgid = r->bgid();
        s.ring_entries = r->config().entries;
        s.buffer_size = r->config().buffer_size;
        // A shared ring's counters belong to every connection; only per-connection rings
        // add theirs.
        if (manager_->incremental()) {
          s.buffers_recycled += r->stats().buffers_recycled - c.ring_recycled_base;
          s.retired_bytes += r->stats().retired_bytes - c.ring_retired_base;
          t.buffers_recycled += r->stats().buffers_recycled - c.ring_recycled_base;
          t.retired_bytes += r->stats().retired_bytes - c.ring_retired_base;
          s.stale_releases += r->stats().stale_releases - c.ring_stale_base;
          for (const BufferState& b : r->buffers()) s.buffers_held += b.readers > 0;
          if (with_buffers) s.buffers = r->buffers();
        }
      }
      snap.connections.push_back(std::move(s));
    }
    return snap;
  }

  Reactor* const self_;
  const ReactorConfig config_;
  const HandlerFactory handlers_;
  MpscUlongQueue releases_;
  MpscQueue<std::function<void()>*> tasks_;
  std::vector<std::function<void()>*> overflow_tasks_;  // posted by the reactor itself
  std::atomic<bool> task_wake_pending_{false};
  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
  std::thread::id thread_id_;
  std::mutex exit_mu_;
  bool exited_ = false;  // guarded by exit_mu_
  ReactorSnapshot final_snapshot_;  // guarded by exit_mu_
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  uint64_t wake_value_ = 0;
  uint16_t port_ = 0;
  std::vector<std::string> features_;
  bool incremental_ = false;
  std::string fallback_reason_;
  io_uring ring_{};
  bool ring_ready_ = false;
  std::unique_ptr<BufferManager> manager_;
  bool accept_armed_ = false;
  bool stopping_ = false;
  bool finished_ = false;
  uint64_t shutdown_deadline_ms_ = 0;
  static constexpr uint64_t kNever = UINT64_MAX;
  static constexpr uint64_t kLingerMs = 2000;  // how long a closing client may take to EOF
  static constexpr uint64_t kStoppingSweepMs = 10;
  uint64_t next_sweep_ms_ = kNever;
  uint64_t now_ms_ = NowMs();  // the clock as of this loop iteration's wake-up
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<uint32_t> free_slots_;
  std::vector<SlotRef> ring_owner_;  // per-connection ring slot -> its connection
  std::vector<SlotRef> output_list_;
  std::vector<SlotRef> resume_input_;
  std::vector<SlotRef> parked_;  // shared mode: receives waiting for the shared ring
  uint64_t live_ = 0;
  uint64_t lingering_ = 0;
  uint64_t detached_recycled_ = 0;       // incremental: counters of rings connections gave back
  uint64_t detached_retired_bytes_ = 0;
  ReactorTotals totals_;
};

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
ReactorSnapshot Reactor::Snapshot(bool with_buffers) { return impl_->Snapshot(with_buffers); }
uint16_t Reactor::port() const { return impl_->port(); }
uint32_t Reactor::id() const { return impl_->id(); }
const std::vector<std::string>& Reactor::features() const { return impl_->features(); }
bool Reactor::incremental() const { return impl_->incremental(); }
const std::string& Reactor::fallback_reason() const { return impl_->fallback_reason(); }

}  // namespace ringside
