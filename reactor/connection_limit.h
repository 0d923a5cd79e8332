// connection_limit.h: a cap on open connections shared by every reactor of a server.
//
// Each reactor enforces its own ReactorConfig::max_connections; a ConnectionLimit adds a
// process-wide cap on top, so a burst that the kernel happens to spread unevenly over the
// SO_REUSEPORT listeners cannot exceed the total either.
//
//   ConnectionLimit total(200000);
//   config.total_connections = &total;  // for every reactor of the group
//
// Thread-safe: TryAcquire and Release may be called from any thread.
#ifndef RINGSIDE_REACTOR_CONNECTION_LIMIT_H_
#define RINGSIDE_REACTOR_CONNECTION_LIMIT_H_

#include <atomic>
#include <cstddef>

namespace ringside {

class ConnectionLimit {
 public:
  explicit ConnectionLimit(size_t max) : max_(max) {}
  ConnectionLimit(const ConnectionLimit&) = delete;
  ConnectionLimit& operator=(const ConnectionLimit&) = delete;

  // Takes one place, or returns false when all `max` are taken.
  bool TryAcquire();
  void Release();

  size_t open() const { return open_.load(std::memory_order_relaxed); }
  size_t max() const { return max_; }

 private:
  const size_t max_;
  std::atomic<size_t> open_{0};
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_CONNECTION_LIMIT_H_
