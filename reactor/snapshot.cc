// Stats snapshots: copied on the reactor thread from its plain counters, so readers on
// other threads never touch live state.
#include "ringside/reactor/reactor_impl.h"
#include "ringside/reactor/sockets.h"

namespace ringside {

// Looked up when first asked for (a snapshot, a handler), not at accept: connection churn
// should not pay for an address nobody asked for, and later askers should not pay a
// syscall each. Whoever learns a better address (a PROXY header) writes `peer` itself.
const std::string& Reactor::Impl::Connection::peer_address() {
  if (peer.empty()) peer = PeerName(fd);
  return peer;
}

ReactorSnapshot Reactor::Impl::TakeSnapshot(SnapshotDetail detail) {
  ReactorSnapshot snap;
  ReactorTotals& t = snap.totals;
  t = totals_;
  t.reactor_id = config_.id;
  t.connections = live_;
  t.release_queue_depth = releases_.queue().ApproxSize();
  t.release_queue_high_water = releases_.queue().HighWater();
  t.buffers = manager_->stats();
  const BlockPool::Stats pool = pool_.stats();
  t.output_blocks_in_use = pool.blocks_in_use;
  t.output_blocks_cached = pool.blocks_cached;
  t.output_pool_blocks = pool.max_blocks;
  t.output_block_size = pool.block_size;
  t.output_pool_refusals = pool.acquire_failures;
  // The shared ring's, those of the rings connections gave back, and (below) those of the
  // connections' own rings since they attached them.
  t.buffers_recycled = manager_->shared_ring()->stats().buffers_recycled + detached_recycled_;
  t.retired_bytes = manager_->shared_ring()->stats().retired_bytes + detached_retired_bytes_;
  t.connection_slots = connections_.size();
  t.input_bytes_copied += freed_input_bytes_copied_;
  for (auto& slot : connections_) {
    if (slot == nullptr) continue;
    Connection& c = *slot;
    ++t.connection_objects;
    // A Connection's stream counts for every connection it has held, and a freed one's
    // count was kept (slots.cc), so the sum is the reactor's total.
    t.input_bytes_copied += c.in.copied_bytes();
    if (!c.in_use) continue;
    // Closed connections' counts are in totals_ already (MaybeFree).
    t.requests += c.stats.requests;
    t.recv_bytes += c.stats.recv_bytes;
    t.bytes_sent += c.stats.bytes_sent;
    t.buf_more_completions += c.stats.buf_more_completions;
    t.output_bytes_queued += c.out.size();
    t.input_bytes_held += c.in.size();
    BufferRing* const r = c.ring_attached ? manager_->ring(c.ring) : nullptr;
    // The shared ring's counters belong to every connection; only own rings add theirs.
    BufferRing* const own = r != nullptr && OwnsRing(c) ? r : nullptr;
    uint32_t buffers_held = 0;
    uint64_t ring_bytes_held = 0;
    if (own != nullptr) {
      t.buffers_recycled += own->stats().buffers_recycled - c.ring_recycled_base;
      t.retired_bytes += own->stats().retired_bytes - c.ring_retired_base;
      for (const BufferState& b : own->buffers()) {
        if (b.readers == 0) continue;
        ++buffers_held;
        ring_bytes_held += b.offset;
      }
      t.input_bytes_held += ring_bytes_held;
    }
    // The totals are complete; what follows is the connection's own entry.
    if (detail == SnapshotDetail::kTotals) continue;
    ConnectionStats s;
    static_cast<ConnectionCounters&>(s) = c.stats;
    s.connection_id = c.id;
    s.reactor_id = config_.id;
    s.fd = c.fd;
    s.rearms = c.arms > 0 ? c.arms - 1 : 0;
    s.peer = c.peer_address();
    if (c.socket_peer != nullptr) s.socket_peer = *c.socket_peer;
    s.proxy_version = c.proxy_version;
    s.incremental = manager_->incremental() && !OnSharedRing(c);
    s.ring_attached = c.ring_attached;
    s.input_bytes_held = c.in.size() + ring_bytes_held;
    s.output_bytes_queued = c.out.size();
    s.buffers_held = buffers_held;
    if (r != nullptr) {
      s.bgid = r->bgid();
      s.ring_entries = r->config().entries;
      s.buffer_size = r->config().buffer_size;
    }
    if (own != nullptr) {
      s.buffers_recycled += own->stats().buffers_recycled - c.ring_recycled_base;
      s.retired_bytes += own->stats().retired_bytes - c.ring_retired_base;
      s.stale_releases += own->stats().stale_releases - c.ring_stale_base;
      if (detail == SnapshotDetail::kConnectionsWithBuffers) s.buffers = own->buffers();
    }
    snap.connections.push_back(std::move(s));
  }
  return snap;
}

}  // namespace ringside
