// reactor_stats.h: plain-value snapshots of a reactor and its connections.
//
// A ReactorSnapshot is gathered on the reactor thread (Reactor::Snapshot) and then owned by
// the caller, so readers on other threads never touch live counters. Thread-compatible.
#ifndef RINGSIDE_REACTOR_REACTOR_STATS_H_
#define RINGSIDE_REACTOR_REACTOR_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ringside/buffers/buffer_manager.h"
#include "ringside/buffers/buffer_ring.h"

namespace ringside {

// What a live connection counts itself (the Connection keeps only these, so an idle one
// stays small); a snapshot adds its identity and state (ConnectionStats).
struct ConnectionCounters {
  uint64_t recv_completions = 0;
  uint64_t recv_bytes = 0;
  uint64_t buf_more_completions = 0;
  uint64_t buffers_recycled = 0;
  uint64_t retired_bytes = 0;
  uint64_t enobufs_stalls = 0;
  uint64_t stale_releases = 0;
  uint64_t bytes_sent = 0;
  uint64_t requests = 0;
};

struct ConnectionStats : ConnectionCounters {
  uint64_t connection_id = 0;
  uint32_t reactor_id = 0;
  int fd = -1;
  std::string peer;  // the client: a PROXY header's source, else the TCP peer
  std::string socket_peer;  // the TCP peer, when a PROXY header replaced it in `peer`
  uint8_t proxy_version = 0;  // of the connection's PROXY header; 0: none
  bool incremental = false;
  bool ring_attached = false;
  uint32_t bgid = 0;
  uint32_t ring_entries = 0;
  uint32_t buffer_size = 0;
  uint64_t rearms = 0;
  uint32_t buffers_held = 0;
  // Received bytes the connection holds: unconsumed input, plus (incremental mode) the
  // filled part of every ring buffer a lease still holds.
  uint64_t input_bytes_held = 0;
  uint64_t output_bytes_queued = 0;  // unsent output
  std::vector<BufferState> buffers;  // filled on request
};

struct ReactorTotals {
  uint32_t reactor_id = 0;
  uint64_t connections = 0;
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;  // all reasons; the next two say which
  uint64_t refused_connection_limit = 0;
  uint64_t refused_stopping = 0;
  // Accepts that failed for want of a file descriptor or kernel memory (EMFILE, ENFILE,
  // ENOBUFS, ENOMEM); the listener backs off and new connections wait in its backlog.
  uint64_t accept_failures = 0;
  // Incremental mode: connections (new, or idle ones re-attaching) served on the shared
  // ring because no ring of their own could be had: no bgid left, over the buffer budget,
  // or the kernel refused its locked memory (buffers.memory_refusals counts those).
  uint64_t shared_ring_fallbacks = 0;
  uint64_t idle_timeouts = 0;
  uint64_t handler_timeouts = 0;    // e.g. HTTP header-read timeouts
  uint64_t requests_rejected = 0;   // refused by a protocol rule or limit (4xx and close)
  uint64_t backpressure_pauses = 0; // reading stopped: unsent output over the high-water mark
  uint64_t cqes = 0;
  uint64_t loop_iterations = 0;
  uint64_t submits = 0;
  uint64_t enobufs_stalls = 0;
  uint64_t idle_detaches = 0;
  uint64_t release_queue_depth = 0;
  uint64_t release_queue_high_water = 0;
  uint64_t input_bytes_copied = 0;
  uint64_t input_bytes_held = 0;  // the sum of the connections' input_bytes_held
  uint64_t output_bytes_queued = 0;      // the sum of the connections' unsent output
  uint64_t output_blocks_in_use = 0;     // blocks of the output pool holding unsent bytes
  uint64_t output_blocks_cached = 0;     // free blocks the pool keeps for reuse
  uint64_t output_pool_blocks = 0;       // the pool's cap
  uint64_t output_block_size = 0;
  uint64_t output_pool_refusals = 0;     // appends that found the pool at its cap
  uint64_t send_timeouts = 0;            // connections closed: no send progress
  uint64_t body_timeouts = 0;            // handler timeouts of a request body (HTTP: 408)
  // PROXY protocol (ReactorConfig::proxy_versions): headers taken, and connections closed
  // for a source outside the trusted networks, bytes that start no accepted header, a
  // malformed or oversized header, or no complete header (EOF or the header timeout).
  uint64_t proxy_headers_accepted = 0;
  uint64_t proxy_refused_untrusted = 0;
  uint64_t proxy_refused_missing = 0;
  uint64_t proxy_refused_malformed = 0;
  uint64_t proxy_refused_incomplete = 0;
  // Connection timers that fired (each looks at one connection): the timers' whole work,
  // which follows the deadlines that come due, not the number of connections.
  uint64_t timer_fires = 0;
  // The connection slot table: its entries (8 bytes each), and those holding a Connection
  // (live, closing, or one of the few kept for reuse). Both shrink after a peak.
  uint64_t connection_slots = 0;
  uint64_t connection_objects = 0;
  // Buffer efficiency, over every ring of the reactor since it started: how many receive
  // completions a buffer served and how full it was when it went back to the kernel.
  uint64_t recv_completions = 0;
  uint64_t buffers_recycled = 0;
  uint64_t retired_bytes = 0;
  // Over every connection the reactor served: a closed connection's counts are added when
  // it is freed, an open one's at the snapshot, so the data path counts nothing twice.
  uint64_t requests = 0;
  uint64_t recv_bytes = 0;
  uint64_t bytes_sent = 0;
  uint64_t buf_more_completions = 0;
  BufferManagerStats buffers;  // buffers.recycles: recycled buffers by completions served
};

struct ReactorSnapshot {
  ReactorTotals totals;
  std::vector<ConnectionStats> connections;
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_REACTOR_STATS_H_
