// interval_log.h: at most one log line per interval for an event that can repeat thousands
// of times a second (a resource running out), saying how many there were since the last.
//
//   IntervalLog fallbacks(/*interval_ms=*/10000);
//   if (const uint64_t n = fallbacks.Count(now_ms)) Log(n, " connections since the last line");
//
// The first event is logged at once; the next ones are counted, and logged together with
// the first event that comes once the interval has passed. Events after the last line wait
// for the next event to be logged (the counters exported for monitoring have them all).
//
// Thread-compatible.
#ifndef RINGSIDE_REACTOR_INTERVAL_LOG_H_
#define RINGSIDE_REACTOR_INTERVAL_LOG_H_

#include <cstdint>
#include <utility>

namespace ringside {

class IntervalLog {
 public:
  explicit IntervalLog(uint64_t interval_ms) : interval_ms_(interval_ms) {}

  // Counts one event at `now_ms`. Returns how many events a line logged now should report
  // (this one and those not reported yet), or 0 when no line is due.
  uint64_t Count(uint64_t now_ms) {
    ++unreported_;
    if (logged_ && now_ms - last_line_ms_ < interval_ms_) return 0;
    logged_ = true;
    last_line_ms_ = now_ms;
    return std::exchange(unreported_, 0);
  }

 private:
  const uint64_t interval_ms_;
  bool logged_ = false;
  uint64_t last_line_ms_ = 0;
  uint64_t unreported_ = 0;
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_INTERVAL_LOG_H_
