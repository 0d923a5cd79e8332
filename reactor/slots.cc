// The connection slot table. A connection is named by its slot (an index into
// connections_) and a generation, in SQE user data, handles and queued references
// (SlotRef). Generations come from one counter per reactor, not per slot, so a slot may
// lose its Connection and get a new one without an old name ever matching the new
// connection (a 32-bit counter: a name would have to outlive 2^32 connections).
//
// Memory goes back after a peak. A slot closed during a loop iteration is recycled at the
// end of it, when no Connection& of the iteration is held any more: up to kKeptConnections
// closed slots keep their Connection (its input stream's copy buffer, up to 16 KiB,
// included) for the next accepts, reused last in first out; the others free it, leaving an
// 8-byte null entry, and are reused lowest index first, so the end of the table empties;
// free slots at the end of the table are removed (warm ones freeing their Connection), and
// the table's storage is reallocated once it is under half its capacity. A peak of N
// connections that all closed leaves at most kKeptConnections entries and Connections; while
// some stay open, the Connections are freed all the same and only the entries up to the
// highest open slot remain.
#include <algorithm>
#include <functional>

#include "ringside/reactor/reactor_impl.h"

namespace ringside {

Reactor::Impl::Connection& Reactor::Impl::TakeSlot() {
  uint32_t slot;
  if (!warm_slots_.empty()) {
    slot = warm_slots_.back();
    warm_slots_.pop_back();
  } else {
    // Indices the table was cut below are stale; they are the largest, so when the lowest
    // index is stale every one is.
    if (!cold_slots_.empty() && cold_slots_.front() >= connections_.size()) cold_slots_.clear();
    if (!cold_slots_.empty()) {
      std::pop_heap(cold_slots_.begin(), cold_slots_.end(), std::greater<>());
      slot = cold_slots_.back();
      cold_slots_.pop_back();
    } else {
      slot = static_cast<uint32_t>(connections_.size());
      connections_.emplace_back();
    }
    connections_[slot] = std::make_unique<Connection>(this, slot);
  }
  Connection& c = *connections_[slot];
  c.generation = ++last_generation_;
  return c;
}

void Reactor::Impl::DropConnection(uint32_t slot) {
  Connection& c = *connections_[slot];
  // Snapshots sum the slots' streams for the reactor's total; this one's count stays.
  freed_input_bytes_copied_ += c.in.copied_bytes();
  connections_[slot].reset();
}

void Reactor::Impl::RecycleSlots() {
  if (closed_slots_.empty()) return;
  for (const uint32_t slot : closed_slots_) {
    if (warm_slots_.size() < kKeptConnections) {
      warm_slots_.push_back(slot);
    } else {
      DropConnection(slot);
      cold_slots_.push_back(slot);
      std::push_heap(cold_slots_.begin(), cold_slots_.end(), std::greater<>());
    }
  }
  closed_slots_.clear();
  TrimSlotTable();
}

// Removes the free entries at the end of the table (each is removed once: amortized O(1)
// per closed slot), and gives the storage of a table that shrank below half back.
void Reactor::Impl::TrimSlotTable() {
  while (connections_.size() > kKeptConnections) {
    const uint32_t last = static_cast<uint32_t>(connections_.size() - 1);
    Connection* c = connections_[last].get();
    if (c != nullptr) {
      if (c->in_use) break;
      warm_slots_.erase(std::find(warm_slots_.begin(), warm_slots_.end(), last));
      DropConnection(last);
    }
    connections_.pop_back();  // a cold index of it in cold_slots_ is now stale
  }
  if (connections_.capacity() > 2 * std::max(connections_.size(), kKeptConnections)) {
    connections_.shrink_to_fit();
    const uint32_t size = static_cast<uint32_t>(connections_.size());
    cold_slots_.erase(std::remove_if(cold_slots_.begin(), cold_slots_.end(),
                                     [size](uint32_t slot) { return slot >= size; }),
                      cold_slots_.end());
    std::make_heap(cold_slots_.begin(), cold_slots_.end(), std::greater<>());
    cold_slots_.shrink_to_fit();
  }
}

}  // namespace ringside
