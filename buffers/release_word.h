// release_word.h: the 64-bit word that carries one buffer release across threads.
//
// A reader that lets go of a buffer view on a thread other than the ring's reactor sends
// this word through the reactor's MpscUlongQueue. It names the ring instance by slot and
// generation, so a word that arrives after the ring was torn down, or after its slot was
// reused by another connection's ring, is recognised as stale and touches nothing.
//
//   bits  0..15  bid          buffer id inside the ring (entries <= 32768)
//   bits 16..39  slot         ring slot in the owning BufferManager (24 bits)
//   bits 40..63  generation   bumped every time the slot gets a new ring owner (24 bits,
//                             wraps; a word would have to outlive 16M reuses of one slot
//                             to be mistaken for a live one)
//
// Pure value code; thread-safe.
#ifndef RINGSIDE_BUFFERS_RELEASE_WORD_H_
#define RINGSIDE_BUFFERS_RELEASE_WORD_H_

#include <cstdint>

namespace ringside {

struct ReleaseWord {
  static constexpr uint32_t kSlotBits = 24;
  static constexpr uint32_t kGenerationBits = 24;
  static constexpr uint32_t kMaxSlots = 1u << kSlotBits;
  static constexpr uint32_t kGenerationMask = (1u << kGenerationBits) - 1;

  uint16_t bid = 0;
  uint32_t slot = 0;
  uint32_t generation = 0;

  constexpr uint64_t Pack() const {
    return static_cast<uint64_t>(bid) | (static_cast<uint64_t>(slot & (kMaxSlots - 1)) << 16) |
           (static_cast<uint64_t>(generation & kGenerationMask) << 40);
  }
  static constexpr ReleaseWord Unpack(uint64_t word) {
    return ReleaseWord{static_cast<uint16_t>(word & 0xffff),
                       static_cast<uint32_t>((word >> 16) & (kMaxSlots - 1)),
                       static_cast<uint32_t>(word >> 40)};
  }
  friend constexpr bool operator==(const ReleaseWord&, const ReleaseWord&) = default;
};

}  // namespace ringside

#endif  // RINGSIDE_BUFFERS_RELEASE_WORD_H_
