#include "ringside/tests/soak/admin_figures.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/status/status.h"
#include "ringside/services/admin/admin.grpc.pb.h"

namespace ringside::soak {

absl::StatusOr<AdminFigures> ReadAdminFigures(const std::string& address) {
  auto stub = ringside::admin::v1::RingAdmin::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  ringside::admin::v1::GetServerStatsResponse response;
  const grpc::Status status =
      stub->GetServerStats(&context, ringside::admin::v1::GetServerStatsRequest(), &response);
  if (!status.ok()) {
    return absl::UnavailableError("GetServerStats: " + status.error_message());
  }
  AdminFigures figures;
  for (const auto& reactor : response.reactors()) {
    figures.connections += reactor.connections();
    figures.connections_accepted += reactor.connections_accepted();
    figures.connections_refused += reactor.connections_refused();
    figures.idle_detaches += reactor.idle_detaches();
    figures.bgids_in_use += reactor.bgids_in_use();
    figures.pooled_rings += reactor.pooled_rings();
    figures.reserved_bytes += reactor.buffer_bytes_reserved();
    figures.rings_live += reactor.rings_live();
    figures.stale_releases += reactor.stale_releases();
    figures.releases_queued += reactor.releases_queued();
    figures.input_bytes_copied += reactor.input_bytes_copied();
    figures.input_bytes_held += reactor.input_bytes_held();
    figures.output_bytes_queued += reactor.output_bytes_queued();
    figures.output_blocks_in_use += reactor.output_blocks_in_use();
    figures.send_timeouts += reactor.send_timeouts();
    figures.accept_failures += reactor.accept_failures();
    figures.requests_rejected += reactor.requests_rejected();
    figures.shared_ring_fallbacks += reactor.shared_ring_fallbacks();
    figures.ring_memory_refusals += reactor.ring_memory_refusals();
    figures.body_timeouts += reactor.body_timeouts();
    figures.timer_fires += reactor.timer_fires();
    figures.connection_slots += reactor.connection_slots();
    figures.connection_objects += reactor.connection_objects();
  }
  return figures;
}

}  // namespace ringside::soak
