// admin_server.h: the admin gRPC server: RingAdmin, grpc.health.v1 and server reflection
// on one address, optionally behind a bearer token.
//
//   absl::StatusOr<std::unique_ptr<AdminServer>> admin = AdminServer::Start(
//       {.address = "127.0.0.1:0", .token = ""}, {reactor.get()}, configuration);
//   if (!admin.ok()) ...;
//   printf("listening on %s (admin)\n", (*admin)->address().c_str());   // bound port
//   ...
//   (*admin)->Shutdown();   // before the reactors stop (see ring_admin_service.h)
//
// With a token, every call (health and reflection included) without the metadata
// `authorization: Bearer TOKEN` fails with UNAUTHENTICATED before any handler runs: the
// check is a gRPC core auth-metadata processor on plain-text transport. Clients on the
// admin address can read the token off the wire; put the address on loopback or a trusted
// network.
//
// Thread-safety: thread-safe. The reactors must outlive the AdminServer.
#ifndef RINGSIDE_SERVICES_ADMIN_ADMIN_SERVER_H_
#define RINGSIDE_SERVICES_ADMIN_ADMIN_SERVER_H_

#include <grpcpp/server.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "reactor/reactor.h"
#include "services/admin/ring_admin_service.h"

namespace ringside::admin {

struct AdminServerOptions {
  std::string address = "127.0.0.1:9900";  // HOST:PORT; port 0 picks a free one
  std::string token;                       // empty: no authentication
};

class AdminServer {
 public:
  // Listens and serves. Errors: Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(
      const AdminServerOptions& options, std::vector<Reactor*> reactors,
      std::map<std::string, std::string> configuration);
  ~AdminServer();  // Shutdown()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Ends watches, marks health NOT_SERVING, and stops the server once in-flight calls are
  // done (they are cancelled after a short grace period). Idempotent.
  void Shutdown();

  // HOST:PORT with the port actually bound.
  const std::string& address() const { return address_; }
  int port() const { return port_; }

 private:
  AdminServer() = default;

  std::unique_ptr<RingAdminService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string address_;
  std::once_flag shutdown_once_;
};

}  // namespace ringside::admin

#endif  // RINGSIDE_SERVICES_ADMIN_ADMIN_SERVER_H_
