// reactor.h: one thread, one io_uring, and the TCP connections it serves.
//
// A Reactor owns a listening socket (SO_REUSEPORT, so N reactors share one port and the
// kernel spreads connections with no hand-off between threads; a single acceptor handing
// fds over would cost a cross-thread wake per connection), a BufferManager for its receive
// buffers, and a table of connections. It drives, per connection: multishot recv with
// buffer select (re-armed when IORING_CQE_F_MORE clears; parked on ENOBUFS and re-armed when
// a buffer of that ring comes back), sends of the handler's output (partial sends resume;
// reading pauses while unsent output is above the high-water mark), idle detach (after
// `ring_idle_ms` without bytes and without leases, the connection gives its ring back and
// waits with a poll), and close (cancel, then free the slot under a new generation).
//
//   Reactor reactor(config, [] { return std::make_unique<EchoHandler>(); });
//   if (absl::Status s = reactor.Start(); !s.ok()) return s;  // listening once OK
//   ...
//   reactor.Stop();                    // graceful: in-flight output is sent first
//   reactor.Join();
//
// Several reactors on one port, with signal handling: ReactorGroup (reactor_group.h).
//
// Lifecycle. Start() runs once: a second call, or a call after Stop(), returns
// FailedPrecondition and changes nothing. Stop() and Join() may be called any number of
// times, from any thread, before Start() too (then they do nothing but make a later
// Start() fail); Join() from the reactor thread itself returns at once. The destructor
// stops and joins.
//
// How long Stop() takes. Connections with output in flight send it first; then each open
// connection shuts its write side (FIN) and lingers, reading and dropping input, so that a
// close() with unread input cannot reset the connection and drop responses the client has
// not read yet. The linger ends at the client's EOF; or after 100 ms without a byte either
// way once the client's kernel has acknowledged every byte and the FIN (a client that
// keeps its socket open: this used to take the full 2 s linger); or after 2 s of quiet
// or 5 s in all. So Stop() after recent activity takes about 100 ms, and never longer
// than shutdown_timeout_ms, after which every connection is closed.
//
// Thread-safety: the loop and everything a handler calls run on the reactor thread.
// Post(), Stop(), Snapshot() and BufferLease releases are thread-safe and wake the reactor
// (an eventfd read kept armed on the ring), so no progress depends on a polling timeout.
// Leases a handler lent to other threads stay valid after Stop() and Join(), until they
// are released; every one must be released before the Reactor is destroyed (join the
// threads that hold them first).
#ifndef RINGSIDE_REACTOR_REACTOR_H_
#define RINGSIDE_REACTOR_REACTOR_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ringside/buffers/buffer_manager.h"
#include "ringside/queue/mpsc_queue.h"
#include "ringside/reactor/connection_handler.h"
#include "ringside/reactor/connection_limit.h"
#include "ringside/reactor/proxy_header.h"
#include "ringside/reactor/reactor_stats.h"
#include "ringside/reactor/trusted_networks.h"

namespace ringside {

enum class WaitStrategy {
  kSubmitAndWait,  // one io_uring_submit_and_wait_timeout() per loop iteration
  kSubmitThenWait, // io_uring_submit(), then io_uring_wait_cqe_timeout()
  kBusyPoll,       // submit and reap without ever sleeping
};

struct ReactorConfig {
  uint32_t id = 0;
  std::string address = "0.0.0.0";
  uint16_t port = 0;                 // 0: an ephemeral port, see Reactor::port()
  // The reactors of a group share their port through SO_REUSEPORT, which also lets any
  // other process of the same user join it and take a share of the connections. Set this
  // on the first reactor of a group and Start() fails (Unavailable) if anything already
  // holds the address and port, instead of joining it.
  bool exclusive_port = false;
  // SQ size; the CQ is four times that. An unprivileged user pays for both out of its
  // RLIMIT_MEMLOCK (buffers/locked_memory.h): 532 KiB at 4096.
  unsigned queue_entries = 4096;
  BufferManagerConfig buffers;
  uint32_t ring_idle_ms = 2000;
  size_t output_high_water = 1 << 20;
  // Output bytes handlers copy go into blocks of this size from a per-reactor pool of at
  // most this many blocks; a connection whose output finds the pool at its cap stops
  // reading until its output drains. Received bytes and static responses are sent by
  // reference and take no blocks.
  size_t output_block_size = 16 << 10;
  size_t output_pool_blocks = 4096;
  // A connection whose unsent output made no progress for this long is closed (a client
  // that never reads). 0: never.
  uint32_t send_timeout_ms = 30000;
  // A connection holding more unconsumed input than this stops receiving until its handler
  // consumes some (a paused or flooding client costs at most this plus one ring's worth).
  // The handler must be able to make progress with this many bytes.
  size_t input_high_water = 1 << 20;
  size_t max_connections = 100000;
  // Connections in the first this many slots (and below RLIMIT_NOFILE and max_connections)
  // have their socket in the io_uring's registered file table, so the kernel finds it by
  // index instead of looking the descriptor up (fget/fput) for every receive and send:
  // 1.2-1.5% of server CPU under keep-alive and pipelined load. The table costs the kernel
  // about 16 bytes an entry; 0 registers none. Connections past it use their descriptor.
  uint32_t registered_files = 65536;
  ConnectionLimit* total_connections = nullptr;  // shared by a group of reactors; optional
  uint32_t idle_timeout_ms = 60000;  // no bytes either way for this long: close (0: never)
  uint32_t shutdown_timeout_ms = 10000;
  // PROXY protocol: off, or every connection must start with a header of these versions
  // (proxy_header.h), from a TCP peer in `proxy_trusted`, complete within
  // `proxy_header_timeout_ms` of the accept; else it is closed and counted (ReactorTotals),
  // before its handler sees a byte. The header's source becomes the connection's peer.
  ProxyVersions proxy_versions = ProxyVersions::kOff;
  TrustedNetworks proxy_trusted;
  uint32_t proxy_header_timeout_ms = 10000;
  WaitStrategy wait = WaitStrategy::kSubmitAndWait;
  size_t release_queue_capacity = 65536;
  size_t task_queue_capacity = 65536;
};

class Reactor {
 public:
  Reactor(const ReactorConfig& config, HandlerFactory handlers);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Binds the listener, starts the reactor thread and waits until it has set up its
  // io_uring (SINGLE_ISSUER, DEFER_TASKRUN and COOP_TASKRUN where the kernel has them) and
  // its buffers. Any failure is returned and no thread is left running. Once only.
  absl::Status Start();
  // Stops accepting; the thread ends once in-flight output is sent and the connections
  // closed (see "How long Stop() takes"), or the shutdown timeout passed. Thread-safe.
  void Stop();
  // Waits for the reactor thread to end. Thread-safe.
  void Join();

  // Runs `task` on the reactor thread. Thread-safe; never blocks the reactor. Threads that
  // post must be done before the Reactor is destroyed; tasks posted after Stop() never run.
  void Post(std::function<void()> task);
  // Runs `fn` on the reactor thread with the connection's io, if it is still open.
  // Thread-safe.
  void PostToConnection(const ConnectionHandle& handle, std::function<void(ConnectionIo&)> fn);
  // PostToConnection for many connections of this reactor at once: one task and at most one
  // wake-up for all of them (a worker answering a drain's worth of batches), run in order.
  // Thread-safe.
  struct ConnectionTask {
    ConnectionHandle handle;
    std::function<void(ConnectionIo&)> fn;
  };
  void PostToConnections(std::vector<ConnectionTask> tasks);
  // Called on a reactor thread (from a handler or a posted task): runs `fn` on that thread
  // at the end of the current loop iteration, after its completions, tasks and resumed
  // inputs and before it submits and sleeps, so work handed to other threads during an
  // iteration can wake them once for all of it. Outside a reactor thread, runs `fn` at once.
  static void AtIterationEnd(std::function<void()> fn);

  // A consistent copy of the stats, gathered on the reactor thread. Blocks the caller (not
  // the reactor) until then; on the reactor thread itself, taken at once. Once the reactor
  // thread has ended, returns the snapshot it took last; before Start(), an empty one.
  ReactorSnapshot Snapshot(bool with_buffers = false);
  // The totals of a snapshot, without the per-connection list, for callers that must not
  // block (a metrics scrape served by another reactor): `done` runs on this reactor's
  // thread once it took them, or at once on the caller's thread with the totals of the
  // last snapshot when the reactor has ended. `done` must not block. Thread-safe.
  void CollectTotals(std::function<void(const ReactorTotals&)> done);

  // Valid after Start() returned OK.
  uint16_t port() const;
  uint32_t id() const;
  const std::vector<std::string>& features() const;  // e.g. "DEFER_TASKRUN"
  bool incremental() const;                           // the effective mode
  const std::string& fallback_reason() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_REACTOR_H_
