// date_cache.h: the value of the HTTP Date field (IMF-fixdate, RFC 9110 5.6.7), formatted at
// most once per second.
//
// Every response carries a Date, and formatting one per response would cost more than the
// rest of a small response; so each reactor thread keeps one DateCache and asks it for every
// response:
//
//   DateCache date;  // reads time(): one vDSO load, no system call
//   AppendResponse(response, date.Now(), &out);
//
// Thread-safety: thread-compatible. Give each thread its own DateCache; the view Now()
// returns is valid until the next Now() on the same cache.
#ifndef RINGSIDE_NET_DATE_CACHE_H_
#define RINGSIDE_NET_DATE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace ringside::net {

class DateCache {
 public:
  // Seconds since the Unix epoch. Tests inject one to pin the time; the default reads
  // time() directly (no call through a std::function per response).
  using Clock = std::function<int64_t()>;

  // "Sun, 06 Nov 1994 08:49:37 GMT"
  static constexpr size_t kSize = 29;

  DateCache();
  explicit DateCache(Clock clock);

  // The current date, re-formatted only when the clock's second has changed.
  std::string_view Now();

 private:
  Clock clock_;  // empty: the coarse real-time clock
  int64_t second_;
  char text_[kSize];
};

}  // namespace ringside::net

#endif  // RINGSIDE_NET_DATE_CACHE_H_
