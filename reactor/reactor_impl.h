// reactor_impl.h: the inside of a Reactor (internal to //reactor; not a public header).
//
// One class, Reactor::Impl, whose methods are split by responsibility:
//   reactor.cc     start, stop, the cross-thread mailbox (Post), set-up and tear-down
//   event_loop.cc  the io_uring loop: submit and wait, reap, dispatch completions
//   accept.cc      accepting connections into slots, backing off out of fds (sockets.h:
//                  the socket calls)
//   proxy.cc       the PROXY protocol header before a connection's first byte reaches its
//                  handler: trusted source, parse, the client as the peer, refusals
//   receive.cc     a connection's receive state machine (Receive, below) and its one
//                  deciding function, UpdateReceive
//   send.cc        output: queuing, sending, high-water backpressure, linger, close
//   slots.cc       the connection slot table: taking, recycling and shrinking it
//   timers.cc      connection timers on the wheel: idle detach, idle/send timeouts,
//                  linger, handler timers, shutdown
//   snapshot.cc    stats snapshots for the admin service and the metrics endpoint
//
// Thread-safety: everything here runs on the reactor thread, except the members marked
// otherwise (the mailbox, the stop flag, the exit snapshot).
#ifndef RINGSIDE_REACTOR_REACTOR_IMPL_H_
#define RINGSIDE_REACTOR_REACTOR_IMPL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "ringside/buffers/buffer_manager.h"
#include "ringside/queue/mailbox.h"
#include "ringside/reactor/connection_handler.h"
#include "ringside/reactor/block_pool.h"
#include "ringside/reactor/input_stream.h"
#include "ringside/reactor/interval_log.h"
#include "ringside/reactor/object_slab.h"
#include "ringside/reactor/output_chain.h"
#include "ringside/reactor/reactor.h"
#include "ringside/reactor/reactor_stats.h"
#include "ringside/reactor/timer_wheel.h"
#include "ringside/third_party/liburing/liburing_compat.h"

namespace ringside {

// user_data of an SQE: the operation in the low byte, then the connection slot and its
// generation, so a completion for a connection that has since closed is recognised.
enum Op : uint8_t { kAccept = 1, kAcceptRetry, kWake, kRecv, kSend, kPoll, kIgnore, kFileUpdate };

inline uint64_t UserData(Op op, uint32_t slot = 0, uint32_t generation = 0) {
  return op | (uint64_t{slot & 0xffffff} << 8) | (uint64_t{generation} << 32);
}
inline Op OpOf(uint64_t ud) { return static_cast<Op>(ud & 0xff); }
inline uint32_t SlotOf(uint64_t ud) { return static_cast<uint32_t>((ud >> 8) & 0xffffff); }
inline uint32_t GenerationOf(uint64_t ud) { return static_cast<uint32_t>(ud >> 32); }

uint64_t NowMs();
// Connection ids: unique across the reactors of the process, for its whole life.
uint64_t NextConnectionId();

// Where a connection's receive stands. UpdateReceive (receive.cc) is the only place that
// arms or cancels a receive on its own initiative; completions move the state, then ask it.
enum class Receive : uint8_t {
  kStopped,     // nothing in flight; UpdateReceive arms one when the connection wants input
  kArmed,       // a multishot recv is in flight
  kStopping,    // we cancelled it (no input wanted now); its last completion is coming
  kDetaching,   // we cancelled it to give the ring back (idle); its last completion is coming
  kParked,      // the ring ran dry (ENOBUFS); waits for a buffer of it to come back
  kPolling,     // idle: no ring, a POLLIN is in flight; bytes re-attach a ring
  kEnded,       // EOF or a socket error: never armed again
};

// Where the listener stands. OnAccept and OnAcceptRetry (accept.cc) move it.
enum class Accept : uint8_t {
  kIdle,        // nothing in flight (before the first arm, or between a final CQE and re-arm)
  kArmed,       // a multishot accept is in flight
  kBackingOff,  // out of fds or memory: a timeout is in flight; the accept re-arms after it
  kClosed,      // shutting down: the listener is closed, never armed again
};

// Where a connection's life stands.
enum class Phase : uint8_t {
  kOpen,          // input goes to the handler, output is sent
  kFlushing,      // CloseAfterFlush or the client's EOF: no more input; send what is queued
  kLingering,     // all sent, write side shut; reading (and dropping) until the client's EOF
  kClosing,       // cancels in flight; the slot is freed when the last completion arrives
};

// What one sendmsg in flight needs until its completion: the message and its iovecs.
// Pooled per reactor, so an idle connection holds none.
struct SendSlot {
  static constexpr int kIovecs = 16;
  msghdr message{};
  iovec iov[kIovecs];
};

struct SlotRef {
  uint32_t slot;
  uint32_t generation;
};

class Reactor::Impl {
 public:
  Impl(Reactor* self, const ReactorConfig& config, HandlerFactory handlers);
  ~Impl();

  absl::Status Start();
  void Stop();
  void Join();
  void Post(std::function<void()> task);
  void PostToConnection(const ConnectionHandle& handle, std::function<void(ConnectionIo&)> fn);
  void PostToConnections(std::vector<ConnectionTask> tasks);
  ReactorSnapshot Snapshot(bool with_buffers);
  void CollectTotals(std::function<void(const ReactorTotals&)> done);

  uint16_t port() const { return port_; }
  uint32_t id() const { return config_.id; }
  const std::vector<std::string>& features() const { return features_; }
  bool incremental() const { return incremental_; }
  const std::string& fallback_reason() const { return fallback_reason_; }

 private:
  // A connection is its own timer (timers.cc): one per connection, armed at the earliest
  // time one of its deadlines may come due. Connections live in a slab (object_slab.h), not
  // among the transient objects of the reactor's malloc arena (rings, tables), so the holes
  // a burst of those leaves can go back to the kernel.
  struct Connection final : ConnectionIo, TimerWheel::Timer, SlabAllocated<Connection> {
    Connection(Impl* owner, uint32_t index) : impl(owner), out(&owner->pool_), slot(index) {}
    // Members by size, largest first, so that an idle connection's object has no padding
    // to speak of (10,000 idle connections are 10,000 of these).
    Impl* const impl;
    std::unique_ptr<ConnectionHandler> handler;
    std::unique_ptr<SendSlot> send;  // the sendmsg in flight, if any
    // The TCP peer, when a PROXY header named another client (proxy.cc); null otherwise:
    // only PROXY connections pay for a second address.
    std::unique_ptr<std::string> socket_peer;
    uint64_t id = 0;
    uint64_t arms = 0;  // receives armed; all but the first are re-arms (stats)
    uint64_t last_activity_ms = 0;
    uint64_t send_progress_ms = 0;  // when unsent output last moved (queued or sent)
    uint64_t linger_drain_limit = 0;  // lingering: recv_bytes at which it closes anyway
    uint64_t linger_deadline_ms = 0;  // lingering: when it closes anyway
    uint64_t timer_deadline_ms = 0;  // 0: no timer armed
    // PROXY protocol: the header must be complete by then (proxy.cc).
    uint64_t proxy_deadline_ms = 0;
    uint64_t ring_recycled_base = 0;
    uint64_t ring_retired_base = 0;
    uint64_t ring_stale_base = 0;
    // The client, looked up when first asked for (snapshot.cc); a PROXY header's source
    // overwrites it. Inline: an IPv4 or short IPv6 address with its port fits the string's
    // own 15 bytes, so a snapshot (an admin watch asks every 100 ms) allocates nothing that
    // stays with each connection.
    std::string peer;
    InputStream in;
    OutputChain out;
    ConnectionCounters stats;
    const uint32_t slot;
    uint32_t generation = 0;  // set per connection from the reactor's counter (slots.cc)
    bool registered_file = false;  // the socket is in the file table, at index `slot`
    int fd = -1;
    RingId ring;
    Phase phase = Phase::kOpen;
    Receive receive = Receive::kStopped;
    bool in_use = false;
    bool ring_attached = false;
    bool in_output_list = false;
    // Inputs to UpdateReceive besides the phase: the handler asked for no input for now;
    // unsent output went over the high-water mark (cleared below half of it).
    bool input_paused = false;
    bool output_blocked = false;
    // Its ring would be idle but for a partial request in its input: AfterHandler
    // reschedules once the handler has taken it (timers.cc).
    bool ring_idle_after_input = false;
    // PROXY protocol: no byte goes to the handler before the header is taken (proxy.cc).
    bool awaiting_proxy_header = false;
    uint8_t proxy_version = 0;

    InputStream& input() override { return in; }
    OutputChain& output() override { return out; }
    bool can_hold_input() override;
    void CloseAfterFlush() override {
      if (phase == Phase::kOpen) phase = Phase::kFlushing;
    }
    void PauseInput() override { input_paused = true; }
    void ResumeInput() override {
      input_paused = false;
      impl->resume_input_.push_back({slot, generation});
    }
    void CountRequest() override { ++stats.requests; }
    void CountRejectedRequest() override { ++impl->totals_.requests_rejected; }
    void CountBodyTimeout() override { ++impl->totals_.body_timeouts; }
    void ArmTimer(uint32_t ms) override {
      timer_deadline_ms = impl->now_ms_ + ms;
      impl->ScheduleCheck(*this, timer_deadline_ms);
    }
    // Lazily: the wheel timer stays where it is, and finds nothing to do if it fires.
    void CancelTimer() override { timer_deadline_ms = 0; }
    ConnectionHandle handle() override { return {impl->self_, slot, generation, id}; }
    const std::string& peer_address() override;
    size_t unsent() const { return out.size(); }
    bool send_inflight() const { return send != nullptr; }
    bool closing() const { return phase == Phase::kClosing; }
  };

  // reactor.cc
  absl::Status SetUp();
  absl::Status SetUpRing();
  void TearDown();
  void Wake();
  void RunTasks();
  void Exit();

  // event_loop.cc
  io_uring_sqe* Sqe();
  void ArmWake();
  void Loop();
  // Posted tasks, then the buffers released meanwhile (from any thread) back to the kernel.
  void HandleMailboxes();
  static void RunIterationEnd(std::vector<std::function<void()>>& tasks);
  bool SleepDeadline(__kernel_timespec* ts);
  void WaitForCompletions();
  void ReapCompletions();
  void Dispatch(uint64_t ud, int32_t res, uint32_t flags);
  Connection* Find(uint32_t slot, uint32_t generation);

  // accept.cc
  void ArmAccept();
  void OnAccept(int32_t res, uint32_t flags);
  void OnAcceptRetry();
  void BackOffAccept(int error);
  void Refuse(int fd, uint64_t* reason);
  void NewConnection(int fd);
  void StopAccepting();

  // proxy.cc
  bool ExpectProxyHeader(Connection& c);
  bool TakeProxyHeader(Connection& c);
  void RefuseProxy(Connection& c, uint64_t* reason, std::string_view why);

  // receive.cc
  RingId AcquireRing();
  // A connection's ring is its own (incremental mode), or the reactor's shared ring: every
  // connection's in shared mode, in incremental mode theirs that could not have their own.
  bool OwnsRing(const Connection& c) const {
    return c.ring_attached && !manager_->IsShared(c.ring);
  }
  bool OnSharedRing(const Connection& c) const {
    return c.ring_attached && manager_->IsShared(c.ring);
  }
  bool SharedRingCanLend() const;
  bool WantsInput(const Connection& c) const;
  void UpdateReceive(Connection& c);
  void ArmRecv(Connection& c);
  void CancelRecv(Connection& c, Receive why);
  void OnRecv(Connection& c, int32_t res, uint32_t flags);
  bool SettleReceive(Connection& c, int32_t res);
  static bool InFlight(const Connection& c);
  void RunHandler(Connection& c);
  void AttachRing(Connection& c, RingId ring);
  void DetachRing(Connection& c);
  void BeginDetach(Connection& c);
  void FinishDetach(Connection& c);
  void OnPoll(Connection& c, int32_t res);
  void OnBuffersReturned(RingId ring);
  void ResumeInputs();

  // reactor.cc
  void RunOnConnection(const ConnectionHandle& handle,
                       const std::function<void(ConnectionIo&)>& fn);

  // send.cc
  void AfterHandler(Connection& c);
  void FlushOutputs();
  void StartSend(Connection& c);
  void OnSend(Connection& c, int32_t res);
  void BeginLinger(Connection& c);
  void Close(Connection& c);
  void MaybeFree(Connection& c);

  // slots.cc
  Connection& TakeSlot();
  void RecycleSlots();
  void TrimSlotTable();
  void DropConnection(uint32_t slot);

  // timers.cc
  // Makes c's timer fire at `at_ms` at the latest (never later than it is armed already),
  // rounded up to the timer tick. Deadlines that only move later (activity) need no call:
  // the timer fires at the old time, finds nothing due and re-arms (lazy re-arming keeps
  // the wheel off the hot path).
  void ScheduleCheck(Connection& c, uint64_t at_ms) {
    at_ms = (at_ms + kTimerTickMs - 1) & ~(kTimerTickMs - 1);
    if (!c.armed() || at_ms < c.deadline()) wheel_.Arm(&c, at_ms);
  }
  // ScheduleCheck at NextCheck(c): after a change that may bring a deadline forward.
  void Reschedule(Connection& c);
  uint64_t NextCheck(Connection& c);
  void RunTimers(uint64_t now);
  // The registered file table (reactor.cc): up to registered_files_ entries, one per slot.
  void RegisterFileTable();
  // Queues the update of the table's entry `slot` to `fd` (-1: empty).
  void UpdateFileTable(uint32_t slot, int fd);
  void OnFileUpdate(uint32_t slot, int32_t res);
  // Points `sqe`, prepared with c.fd, at the connection's table entry when it has one.
  static void UseRegisteredFile(io_uring_sqe* sqe, const Connection& c) {
    if (!c.registered_file) return;
    sqe->fd = static_cast<int>(c.slot);
    sqe->flags |= IOSQE_FIXED_FILE;
  }
  // Frees the output blocks that stayed cached for a whole kOutputDecayMs.
  void DecayOutputPool(uint64_t now);
  void OnConnectionTimer(Connection& c, uint64_t now);
  void CheckConnection(Connection& c, uint64_t now);
  uint64_t RecheckMs(uint64_t timeout_ms) const;
  void BeginShutdown();

  // snapshot.cc
  enum class SnapshotDetail : uint8_t {
    kTotals,                  // the reactor's totals only (no per-connection work beyond sums)
    kConnections,             // and each open connection's stats
    kConnectionsWithBuffers,  // and each connection ring's buffers
  };
  ReactorSnapshot TakeSnapshot(SnapshotDetail detail);
  // Runs `done` with a snapshot taken on the reactor thread, or with the last one at once
  // when the thread has ended. Any thread.
  void WithSnapshot(SnapshotDetail detail, std::function<void(const ReactorSnapshot&)> done);

  static constexpr uint64_t kNever = UINT64_MAX;
  static constexpr uint64_t kLingerMs = 2000;  // how long a closing client may take to EOF
  static constexpr uint64_t kLingerMaxMs = 5000;  // how long lingering may last in all
  static constexpr uint64_t kLingerDrainBytes = 1 << 20;  // what it may send meanwhile
  static constexpr uint64_t kStoppingSweepMs = 10;
  // Stopping: a lingering connection whose bytes are all acknowledged closes after this
  // much quiet rather than kLingerMs.
  static constexpr uint64_t kStoppingLingerMs = 100;
  static constexpr uint64_t kAcceptBackoffMinMs = 5;
  static constexpr uint64_t kAcceptBackoffMaxMs = 100;
  // Connection timers fire on ticks of this many ms (deadlines are rounded up), so that
  // deadlines in the same tick share one wake-up: at most 125 timer wake-ups a second
  // however many deadlines come due (with 1,000 header timeouts a second, 45% fewer loop
  // iterations and ~25% less CPU than at 1 ms). A power of two.
  static constexpr uint64_t kTimerTickMs = 8;
  static constexpr size_t kKeptSendSlots = 64;
  static constexpr size_t kKeptOutputBlocks = 16;  // free blocks the pool keeps for reuse
  // Cached output blocks beyond kKeptOutputBlocks that go unneeded this long are freed.
  static constexpr uint64_t kOutputDecayMs = 1000;
  // Closed slots that keep their Connection for the next accept; the slot table itself
  // never shrinks below this many entries.
  static constexpr size_t kKeptConnections = 64;

  Reactor* const self_;
  const ReactorConfig config_;
  const HandlerFactory handlers_;
  int wake_fd_ = -1;  // before the mailboxes, which wake through it
  Mailbox<uint64_t> releases_;
  BlockPool pool_;  // before the connections, whose output chains hold its blocks
  std::vector<std::unique_ptr<SendSlot>> free_send_slots_;
  Mailbox<std::function<void()>*> tasks_;
  std::vector<std::function<void()>*> overflow_tasks_;  // posted by the reactor itself
  bool start_called_ = false;  // Start() is called at most once; again, it is refused
  std::atomic<bool> started_{false};  // Start() succeeded: the thread runs or ran
  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
  std::thread::id thread_id_;
  std::mutex exit_mu_;
  bool exited_ = false;             // guarded by exit_mu_
  ReactorSnapshot final_snapshot_;  // guarded by exit_mu_
  int listen_fd_ = -1;
  uint64_t wake_value_ = 0;
  uint16_t port_ = 0;
  std::vector<std::string> features_;
  bool incremental_ = false;
  std::string fallback_reason_;
  io_uring ring_{};
  bool ring_ready_ = false;
  std::unique_ptr<BufferManager> manager_;
  Accept accept_ = Accept::kIdle;
  // Out of fds: the pause before the next accept, doubling from kAcceptBackoffMinMs to
  // kAcceptBackoffMaxMs while accepts keep failing; reset by an accept that succeeds.
  uint64_t accept_backoff_ms_ = 0;
  __kernel_timespec accept_retry_after_{};  // read by the kernel when the timeout is issued
  IntervalLog accept_failure_log_;
  bool stopping_ = false;
  bool finished_ = false;
  uint64_t shutdown_deadline_ms_ = 0;
  uint64_t now_ms_ = 0;  // the clock as of this loop iteration's wake-up
  // When DecayOutputPool next runs; kNever while the pool holds no more than it keeps.
  uint64_t output_decay_ms_ = kNever;
  uint32_t registered_files_ = 0;  // entries of the registered file table; 0: none
  std::vector<int> file_updates_;  // the values of queued table updates, by SQE index
  TimerWheel wheel_{NowMs()};  // the connections' timers
  // The slot table (slots.cc): null where a closed slot's Connection was freed.
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<uint32_t> closed_slots_;  // freed this iteration; recycled at its end
  std::vector<uint32_t> warm_slots_;    // closed, Connection kept (at most kKeptConnections)
  std::vector<uint32_t> cold_slots_;    // closed, Connection freed: a min-heap of indices
  uint32_t last_generation_ = 0;
  uint64_t freed_input_bytes_copied_ = 0;  // input_bytes_copied of freed Connections
  std::vector<SlotRef> ring_owner_;  // per-connection ring slot -> its connection
  std::vector<SlotRef> output_list_;
  std::vector<SlotRef> resume_input_;
  std::vector<SlotRef> parked_;  // receives waiting for the shared ring
  uint64_t live_ = 0;
  uint64_t lingering_ = 0;
  uint64_t detached_recycled_ = 0;  // incremental: counters of rings connections gave back
  uint64_t detached_retired_bytes_ = 0;
  IntervalLog shared_ring_log_;  // connections refused a ring of their own
  IntervalLog proxy_refusal_log_;  // connections refused by the PROXY protocol rules
  IntervalLog file_table_log_;     // registered file table updates the kernel refused
  ReactorTotals totals_;
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_REACTOR_IMPL_H_
