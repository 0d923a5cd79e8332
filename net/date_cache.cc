#include "ringside/net/date_cache.h"

#include <time.h>

#include <limits>
#include <utility>

namespace ringside::net {
namespace {

// time() is the cheapest clock there is (the vDSO reads one word, no sequence lock); its
// second is the one CLOCK_REALTIME_COARSE gives. clock_gettime was 1.2% of server CPU
// under pipelined load, a call per response.
int64_t RealtimeSeconds() { return static_cast<int64_t>(time(nullptr)); }

// Fixed English names: strftime's %a and %b would follow the process locale.
constexpr char kDays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr char kMonths[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void PutTwoDigits(int value, char* out) {
  out[0] = static_cast<char>('0' + value / 10);
  out[1] = static_cast<char>('0' + value % 10);
}

void FormatImfFixdate(int64_t seconds, char* out) {
  const time_t t = static_cast<time_t>(seconds);
  tm utc;
  gmtime_r(&t, &utc);
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  std::string_view("ddd, DD MMM YYYY HH:MM:SS GMT").copy(out, DateCache::kSize);
  std::string_view(kDays[utc.tm_wday], 3).copy(out, 3);
  PutTwoDigits(utc.tm_mday, out + 5);
  std::string_view(kMonths[utc.tm_mon], 3).copy(out + 8, 3);
  const int year = utc.tm_year + 1900;
  PutTwoDigits(year / 100, out + 12);
  PutTwoDigits(year % 100, out + 14);
  PutTwoDigits(utc.tm_hour, out + 17);
  PutTwoDigits(utc.tm_min, out + 20);
  PutTwoDigits(utc.tm_sec, out + 23);
}

}  // namespace

DateCache::DateCache() : DateCache(Clock()) {}

DateCache::DateCache(Clock clock)
    : clock_(std::move(clock)), second_(std::numeric_limits<int64_t>::min()), text_{} {}

std::string_view DateCache::Now() {
  const int64_t now = clock_ ? clock_() : RealtimeSeconds();
  if (now != second_) {
    second_ = now;
    FormatImfFixdate(now, text_);
  }
  return std::string_view(text_, kSize);
}

}  // namespace ringside::net
