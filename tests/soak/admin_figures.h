// admin_figures.h: the server-wide buffer figures the soak compares, read through the admin
// gRPC service (services/admin/admin.proto, RingAdmin.GetServerStats) and summed over
// reactors.
//
// Thread-compatible; test-only.
#ifndef RINGSIDE_TESTS_SOAK_ADMIN_FIGURES_H_
#define RINGSIDE_TESTS_SOAK_ADMIN_FIGURES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace ringside::soak {

struct AdminFigures {
  uint64_t connections = 0;
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;
  uint64_t idle_detaches = 0;  // rings given back by idle connections
  uint64_t bgids_in_use = 0;   // held by live rings and by pooled ones
  uint64_t pooled_rings = 0;   // torn-down rings kept registered for reuse, with their bgid
  uint64_t reserved_bytes = 0;  // slab bytes of every ring, live and pooled
  uint64_t rings_live = 0;
  uint64_t stale_releases = 0;
  uint64_t releases_queued = 0;  // releases that came from other threads (worker mode)
  uint64_t input_bytes_copied = 0;
  uint64_t input_bytes_held = 0;
  uint64_t output_bytes_queued = 0;
  uint64_t output_blocks_in_use = 0;
  uint64_t send_timeouts = 0;
  uint64_t accept_failures = 0;  // accepts that failed for want of fds (EMFILE)
  uint64_t requests_rejected = 0;
  uint64_t shared_ring_fallbacks = 0;  // connections served without a ring of their own
  uint64_t ring_memory_refusals = 0;   // rings the kernel refused for locked memory
  uint64_t body_timeouts = 0;
  uint64_t timer_fires = 0;
  uint64_t connection_slots = 0;    // entries of the reactors' slot tables
  uint64_t connection_objects = 0;  // those holding a Connection
};

// Asks the admin service at HOST:PORT (no token) for GetServerStats.
absl::StatusOr<AdminFigures> ReadAdminFigures(const std::string& address);

}  // namespace ringside::soak

#endif  // RINGSIDE_TESTS_SOAK_ADMIN_FIGURES_H_
