#include "ringside/reactor/connection_limit.h"

namespace ringside {

bool ConnectionLimit::TryAcquire() {
  size_t open = open_.load(std::memory_order_relaxed);
  do {
    if (open >= max_) return false;
  } while (!open_.compare_exchange_weak(open, open + 1, std::memory_order_relaxed));
  return true;
}

void ConnectionLimit::Release() { open_.fetch_sub(1, std::memory_order_relaxed); }

}  // namespace ringside
