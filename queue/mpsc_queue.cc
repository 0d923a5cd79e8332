#include "ringside/queue/mpsc_queue.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <vector>

namespace ringside::mpsc_queue_internal {
namespace {

// One thread's lanes, each with the id of its queue. Few entries (one per queue the thread
// pushes to), so a linear scan does.
class LaneTable {
 public:
  LaneTable() = default;
  LaneTable(const LaneTable&) = delete;
  LaneTable& operator=(const LaneTable&) = delete;

  // The thread is exiting: its lanes go to whichever thread registers next.
  ~LaneTable() {
    last_lane = {};
    for (const Entry& entry : entries_) {
      entry.lane->ParkCredits();
      entry.lane->Disown();
      entry.lane->Unref();
    }
  }

  // Remembers the answer in last_lane, a miss too: a consumer that never pushes asks
  // on every Drain. Every lane this thread gets goes through Add, which replaces it.
  LaneBase* Find(uint64_t queue_id) {
    LaneBase* found = nullptr;
    for (const Entry& entry : entries_) {
      if (entry.queue_id == queue_id) {
        found = entry.lane;
        break;
      }
    }
    last_lane = {queue_id, found};
    return found;
  }

  void Add(uint64_t queue_id, LaneBase* lane) {
    // The queues of orphaned lanes are gone: nobody else can take the lanes over, and no
    // push can look for them, since queue ids are never reused.
    std::erase_if(entries_, [](const Entry& entry) {
      if (!entry.lane->orphaned()) return false;
      entry.lane->Unref();
      return true;
    });
    entries_.push_back({queue_id, lane});
    last_lane = {queue_id, lane};
  }

 private:
  struct Entry {
    uint64_t queue_id;
    LaneBase* lane;
  };
  std::vector<Entry> entries_;
};

thread_local LaneTable lane_table;

}  // namespace

size_t RoundUpCapacity(size_t capacity) {
  // Capped so that std::bit_ceil stays defined; a request that large fails to allocate.
  constexpr size_t kLargestPowerOfTwo = (SIZE_MAX >> 1) + 1;
  return std::bit_ceil(std::clamp<size_t>(capacity, 2, kLargestPowerOfTwo));
}

uint64_t NewQueueId() {
  // 0 is LastLane's "none".
  static std::atomic<uint64_t> last_id{0};
  return last_id.fetch_add(1, std::memory_order_relaxed) + 1;
}

LaneBase* FindLaneSlow(uint64_t queue_id) { return lane_table.Find(queue_id); }

void RememberLane(uint64_t queue_id, LaneBase* lane) { lane_table.Add(queue_id, lane); }

}  // namespace ringside::mpsc_queue_internal
