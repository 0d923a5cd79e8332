// ring_admin_service.h: the RingAdmin gRPC service (admin.proto) over running reactors.
//
// Every answer is built from Reactor::Snapshot(), a copy the reactor makes on its own thread
// between two loop iterations, so the service never reads live counters and the data path
// pays only for the copy. Unary calls take one snapshot per reactor each. Watches share
// theirs: one thread (the watch hub) serves every WatchConnections with the callback API
// (no thread per stream), copies each reactor about once per kMinWatchIntervalMs however
// many watches are open, and serializes each copy once; a full snapshot is sent to every
// watch as references to those bytes. At most `max_watches` are open at once (more get
// RESOURCE_EXHAUSTED), and each has at most one message in flight, so a client that stops
// reading holds one message's memory and its watch skips nothing but waits. Connection ids come from the reactors and are unique for the life
// of the process, so pagination by `start_connection_id` never repeats or skips a
// connection that stays open.
//
//   RingAdminService service({reactor_a.get(), reactor_b.get()}, {{"reactors", "2"}},
//                            {.token = "", .max_watches = 8});
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

#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ringside/reactor/reactor.h"
#include "ringside/services/admin/admin.grpc.pb.h"

namespace ringside::admin {

struct RingAdminServiceOptions {
  std::string token;        // every method requires `authorization: Bearer TOKEN`; empty: none
  size_t max_watches = 8;   // WatchConnections open at once; more get RESOURCE_EXHAUSTED
};

// What AdminServer's listener counts; GetServerStats reports it in AdminStats.
struct AdminListenerCounters {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_refused{0};
  std::atomic<uint64_t> accept_errors{0};
  uint64_t max_connections = 0;
};

// WatchConnections is a raw callback method (bytes in, bytes out) so that the hub can send
// the bytes it serialized once to every watch; the other methods are synchronous.
class RingAdminService final
    : public v1::RingAdmin::WithRawCallbackMethod_WatchConnections<v1::RingAdmin::Service> {
 public:
  // Request limits; admin.proto documents them for clients.
  static constexpr uint32_t kDefaultMaxResults = 100;
  static constexpr uint32_t kMaxResults = 1000;
  static constexpr uint32_t kMinWatchIntervalMs = 100;
  static constexpr uint32_t kMaxWatchIntervalMs = 60000;

  // `reactors` are not owned. `configuration` is reported as is by GetServerStats, and so
  // is `listener` (not owned, may be null; it must outlive the service).
  RingAdminService(std::vector<Reactor*> reactors,
                   std::map<std::string, std::string> configuration,
                   RingAdminServiceOptions options = {},
                   const AdminListenerCounters* listener = nullptr);
  // Stops the hub. The gRPC server must have shut down (every watch is done) before.
  ~RingAdminService() override;

  // Makes every running and future WatchConnections end with UNAVAILABLE promptly, so that
  // grpc::Server::Shutdown() does not wait for watches that would otherwise never end.
  void BeginShutdown();

  // Reactor snapshots taken for watches so far (AdminStats.watch_snapshots).
  uint64_t watch_snapshots() const { return watch_snapshots_.load(std::memory_order_relaxed); }
  // WatchConnections refused for the cap so far (AdminStats.watches_refused).
  uint64_t watches_refused() const { return watches_refused_.load(std::memory_order_relaxed); }

  grpc::Status ListConnections(grpc::ServerContext* context,
                               const v1::ListConnectionsRequest* request,
                               v1::ListConnectionsResponse* response) override;
  grpc::Status GetConnection(grpc::ServerContext* context,
                             const v1::GetConnectionRequest* request,
                             v1::GetConnectionResponse* response) override;
  grpc::Status GetServerStats(grpc::ServerContext* context,
                              const v1::GetServerStatsRequest* request,
                              v1::GetServerStatsResponse* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchConnections(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) override;

 private:
  class Watch;
  struct SharedSnapshot;

  // The reactors a request covers: all of them, or the one `reactor_id` names.
  grpc::Status SelectReactors(bool has_reactor_id, uint32_t reactor_id,
                              std::vector<size_t>* selected) const;
  // True without a token (and then `context` may be null, as in tests calling methods).
  bool Authorized(const grpc::ServerContextBase* context) const;

  // The hub: sends every due watch its next snapshot and finishes the ended ones.
  void RunHub();
  // Reactor `index`'s snapshot: the one taken in the same kMinWatchIntervalMs slot of the
  // hub's clock as `now`, unless that is `previous` (what the watch got last), else a new
  // one. So a reactor is copied about once per slot however many watches read it. Hub
  // thread only.
  std::shared_ptr<const SharedSnapshot> SnapshotFor(size_t index,
                                                    std::chrono::steady_clock::time_point now,
                                                    const SharedSnapshot* previous);
  // The watch's next message into its buffer. Hub thread only.
  void BuildMessage(Watch* watch, std::chrono::steady_clock::time_point now);

  // Called by a Watch from gRPC's threads.
  void OnWatchWriteDone(Watch* watch, bool ok);
  void OnWatchCancel(Watch* watch);
  void OnWatchDone(Watch* watch);

  const std::vector<Reactor*> reactors_;
  const std::map<std::string, std::string> configuration_;
  const RingAdminServiceOptions options_;
  const AdminListenerCounters* const listener_;
  // Hub thread only: each reactor's latest shared snapshot.
  std::vector<std::shared_ptr<const SharedSnapshot>> cache_;
  const std::chrono::steady_clock::time_point epoch_;  // slot 0 of the hub's clock
  std::atomic<uint64_t> watch_snapshots_{0};
  std::atomic<uint64_t> watches_started_{0};
  std::atomic<uint64_t> watches_refused_{0};

  // std::mutex rather than absl::Mutex: Debian's absl is not built with TSan, which would
  // not see an absl::Mutex order the accesses it guards.
  std::mutex mu_;
  std::condition_variable hub_wake_;   // a watch came, became writable, ended; shutdown
  std::condition_variable watch_gone_;  // a watch's OnDone ran
  bool shutting_down_ = false;          // guarded by mu_
  bool stop_hub_ = false;               // guarded by mu_
  std::vector<Watch*> watches_;         // not finished yet; guarded by mu_
  size_t open_watches_ = 0;             // registered and OnDone not run; guarded by mu_
  std::thread hub_;
};

}  // namespace ringside::admin

#endif  // RINGSIDE_SERVICES_ADMIN_RING_ADMIN_SERVICE_H_
