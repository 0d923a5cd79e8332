#include "tests/soak/admin_figures.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/status/status.h"
#include "services/admin/admin.grpc.pb.h"

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
    figures.bgids_in_use += reactor.bgids_in_use();
    figures.pooled_rings += reactor.pooled_rings();
    figures.reserved_bytes += reactor.buffer_bytes_reserved();
  }
  return figures;
}

}  // namespace ringside::soak
