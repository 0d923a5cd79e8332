// interval_log.h: at most one log line per interval for a condition that can repeat at line
// rate (fds exhausted, a refusal under attack), with the count of the lines it held back.
//
//   IntervalLog out_of_fds(std::chrono::seconds(10));
//   ...
//   out_of_fds.Write(absl::StrCat("reactor ", id, ": accept: ", strerror(err), "; ..."));
//   // stderr: "ringside: reactor 0: accept: Too many open files; ... (41 more in 10 s)"
//
// The first occurrence is written at once; later ones within the interval are counted and
// their number is appended to the next line written. Lines go to stderr with the
// "ringside: " prefix the server uses for its own messages.
//
// Thread-safety: Write() is thread-safe; concurrent writers race only on which of them
// writes the line.
#ifndef RINGSIDE_REACTOR_INTERVAL_LOG_H_
#define RINGSIDE_REACTOR_INTERVAL_LOG_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace ringside {

class IntervalLog {
 public:
  explicit IntervalLog(std::chrono::milliseconds interval = std::chrono::seconds(10))
      : interval_ms_(static_cast<uint64_t>(interval.count())) {}

  // Writes `line` if the interval since the last written line has passed, else counts it.
  // Returns whether it was written.
  bool Write(std::string_view line);

  uint64_t lines_written() const { return written_.load(std::memory_order_relaxed); }
  uint64_t lines_held_back() const { return held_back_total_.load(std::memory_order_relaxed); }

 private:
  const uint64_t interval_ms_;
  std::atomic<uint64_t> next_ms_{0};   // steady clock; the earliest time of the next line
  std::atomic<uint64_t> held_back_{0};  // since the last line written
  std::atomic<uint64_t> held_back_total_{0};
  std::atomic<uint64_t> written_{0};
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_INTERVAL_LOG_H_
