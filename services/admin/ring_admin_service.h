// ring_admin_service.h: the RingAdmin gRPC service (admin.proto) over running reactors.
//
// Every answer is built from Reactor::Snapshot(), a copy the reactor makes on its own thread
// between two loop iterations, so the service never reads live counters and the data path
// pays only for the copy. Connection ids come from the reactors and are unique for the life
// of the process, so pagination by `start_connection_id` never repeats or skips a
// connection that stays open.
//
//   RingAdminService service({reactor_a.get(), reactor_b.get()}, {{"reactors", "2"}});
//   builder.RegisterService(&service);          // AdminServer does this, with auth etc.
//   ...
//   service.BeginShutdown();                    // ends every Watch at once
//   server->Shutdown();
//
// The reactors must outlive the service. A reactor that has ended answers with the last
// snapshot it took, so stop the gRPC server before the reactors: nobody then reads figures
// that no longer move.
//
// Thread-safety: thread-safe; gRPC calls the methods from its own threads concurrently.
#ifndef RINGSIDE_SERVICES_ADMIN_RING_ADMIN_SERVICE_H_
#define RINGSIDE_SERVICES_ADMIN_RING_ADMIN_SERVICE_H_

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "reactor/reactor.h"
#include "services/admin/admin.grpc.pb.h"

namespace ringside::admin {

class RingAdminService final : public v1::RingAdmin::Service {
 public:
  // Request limits; admin.proto documents them for clients.
  static constexpr uint32_t kDefaultMaxResults = 100;
  static constexpr uint32_t kMaxResults = 1000;
  static constexpr uint32_t kMinWatchIntervalMs = 100;
  static constexpr uint32_t kMaxWatchIntervalMs = 60000;

  // `reactors` are not owned. `configuration` is reported as is by GetServerStats.
  RingAdminService(std::vector<Reactor*> reactors,
                   std::map<std::string, std::string> configuration);

  // Makes every running and future WatchConnections return UNAVAILABLE promptly, so that
  // grpc::Server::Shutdown() does not wait for watches that would otherwise never end.
  void BeginShutdown();

  grpc::Status ListConnections(grpc::ServerContext* context,
                               const v1::ListConnectionsRequest* request,
                               v1::ListConnectionsResponse* response) override;
  grpc::Status GetConnection(grpc::ServerContext* context,
                             const v1::GetConnectionRequest* request,
                             v1::GetConnectionResponse* response) override;
  grpc::Status GetServerStats(grpc::ServerContext* context,
                              const v1::GetServerStatsRequest* request,
                              v1::GetServerStatsResponse* response) override;
  grpc::Status WatchConnections(grpc::ServerContext* context,
                                const v1::WatchConnectionsRequest* request,
                                grpc::ServerWriter<v1::ConnectionsSnapshot>* writer) override;

 private:
  // The reactors a request covers: all of them, or the one `reactor_id` names.
  grpc::Status SelectReactors(bool has_reactor_id, uint32_t reactor_id,
                              std::vector<Reactor*>* selected) const;
  // Waits up to `ms`, returning early (false) when the call ends or the service shuts down.
  bool SleepUnlessDone(grpc::ServerContext* context, uint32_t ms);

  const std::vector<Reactor*> reactors_;
  const std::map<std::string, std::string> configuration_;
  // std::mutex rather than absl::Mutex: Debian's absl is not built with TSan, which would
  // not see an absl::Mutex order the accesses it guards.
  std::mutex mu_;
  std::condition_variable shutdown_;
  bool shutting_down_ = false;  // guarded by mu_
};

}  // namespace ringside::admin

#endif  // RINGSIDE_SERVICES_ADMIN_RING_ADMIN_SERVICE_H_
