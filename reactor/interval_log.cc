#include "ringside/reactor/interval_log.h"

#include <cstdio>
#include <string>

namespace ringside {

bool IntervalLog::ClaimLine() {
  const uint64_t now = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now().time_since_epoch())
          .count());
  uint64_t next = next_ms_.load(std::memory_order_relaxed);
  if (now < next ||
      !next_ms_.compare_exchange_strong(next, now + interval_ms_, std::memory_order_relaxed)) {
    held_back_.fetch_add(1, std::memory_order_relaxed);
    held_back_total_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void IntervalLog::Emit(std::string_view line) {
  const uint64_t held_back = held_back_.exchange(0, std::memory_order_relaxed);
  std::string text = "ringside: ";
  text.append(line);
  if (held_back > 0) {
    text += " (" + std::to_string(held_back) + " more since the last such line)";
  }
  text += '\n';
  // One write, so lines from different threads do not interleave.
  std::fwrite(text.data(), 1, text.size(), stderr);
  written_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace ringside
