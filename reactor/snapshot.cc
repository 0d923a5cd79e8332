// Stats snapshots: copied on the reactor thread from its plain counters, so readers on
// other threads never touch live state.
#include "ringside/reactor/reactor_impl.h"
#include "ringside/reactor/sockets.h"

namespace ringside {

ReactorSnapshot Reactor::Impl::TakeSnapshot(bool with_buffers) {
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
    ConnectionStats s;
    static_cast<ConnectionCounters&>(s) = c.stats;
    s.connection_id = c.id;
    s.reactor_id = config_.id;
    s.fd = c.fd;
    s.rearms = c.arms > 0 ? c.arms - 1 : 0;
    // Looked up on the first snapshot, not at accept: connection churn should not pay
    // for stats nobody asked for, and later snapshots should not pay a syscall each.
    if (c.peer.empty()) c.peer = PeerName(c.fd);
    s.peer = c.peer;
    s.incremental = manager_->incremental() && !OnSharedRing(c);
    s.ring_attached = c.ring_attached;
    s.input_bytes_held = c.in.size();
    s.output_bytes_queued = c.out.size();
    t.output_bytes_queued += s.output_bytes_queued;
    t.input_bytes_held += s.input_bytes_held;
    if (BufferRing* r = c.ring_attached ? manager_->ring(c.ring) : nullptr) {
      s.bgid = r->bgid();
      s.ring_entries = r->config().entries;
      s.buffer_size = r->config().buffer_size;
      // The shared ring's counters belong to every connection; only own rings add theirs.
      if (OwnsRing(c)) {
        s.buffers_recycled += r->stats().buffers_recycled - c.ring_recycled_base;
        s.retired_bytes += r->stats().retired_bytes - c.ring_retired_base;
        t.buffers_recycled += r->stats().buffers_recycled - c.ring_recycled_base;
        t.retired_bytes += r->stats().retired_bytes - c.ring_retired_base;
        s.stale_releases += r->stats().stale_releases - c.ring_stale_base;
        for (const BufferState& b : r->buffers()) {
          if (b.readers == 0) continue;
          ++s.buffers_held;
          s.input_bytes_held += b.offset;
          t.input_bytes_held += b.offset;
        }
        if (with_buffers) s.buffers = r->buffers();
      }
    }
    snap.connections.push_back(std::move(s));
  }
  return snap;
}

}  // namespace ringside
