// interval_log.h: at most one log line per interval for a condition that can repeat at line
// rate (fds exhausted, a refusal under attack), with the count of the lines it held back.
//
//   IntervalLog out_of_fds(std::chrono::seconds(10));
//   ...
//   out_of_fds.Write([&] { return absl::StrCat("reactor ", id, ": accept: ", ...); });
//   // stderr: "ringside: reactor 0: accept: Too many open files; ... (41 more in 10 s)"
//
// The first occurrence is written at once; later ones within the interval are counted and
// their number is appended to the next line written. The line is made only when it is
// written, so a held-back occurrence costs two atomic operations and no allocation. Lines go to stderr with the
// "ringside: " prefix the server uses for its own messages.
//
// Thread-safety: Write() is thread-safe; concurrent writers race only on which of them
// writes the line.
#ifndef RINGSIDE_REACTOR_INTERVAL_LOG_H_
#define RINGSIDE_REACTOR_INTERVAL_LOG_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringside {

class IntervalLog {
 public:
  explicit IntervalLog(std::chrono::milliseconds interval = std::chrono::seconds(10))
      : interval_ms_(static_cast<uint64_t>(interval.count())) {}

  // Writes the line `make_line()` returns (a std::string) if the interval since the last
  // written line has passed, else only counts it. Returns whether it was written.
  template <typename MakeLine>
  bool Write(MakeLine&& make_line) {
    if (!ClaimLine()) return false;
    Emit(make_line());
    return true;
  }

  uint64_t lines_written() const { return written_.load(std::memory_order_relaxed); }
  uint64_t lines_held_back() const { return held_back_total_.load(std::memory_order_relaxed); }

 private:
  // True for the one caller whose line is due now; counts everyone else's as held back.
  bool ClaimLine();
  void Emit(std::string_view line);

  const uint64_t interval_ms_;
  std::atomic<uint64_t> next_ms_{0};   // steady clock; the earliest time of the next line
  std::atomic<uint64_t> held_back_{0};  // since the last line written
  std::atomic<uint64_t> held_back_total_{0};
  std::atomic<uint64_t> written_{0};
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_INTERVAL_LOG_H_
