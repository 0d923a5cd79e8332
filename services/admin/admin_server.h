// admin_server.h: the admin gRPC server: RingAdmin, grpc.health.v1 and server reflection
// on one address, optionally behind a bearer token, with caps on its connections and
// watches.
//
//   absl::StatusOr<std::unique_ptr<AdminServer>> admin = AdminServer::Start(
//       {.address = "127.0.0.1:0", .token = ""}, {reactor.get()}, configuration);
//   if (!admin.ok()) ...;
//   printf("listening on %s (admin)\n", (*admin)->address().c_str());   // bound port
//   ...
//   (*admin)->Shutdown();   // before the reactors stop (see ring_admin_service.h)
//
// The listener is the AdminServer's own, not gRPC's (whose listener stops for good after
// one failed accept, e.g. EMFILE): a thread accepts, backs off while the process is out of
// file descriptors (10 ms doubling to 1 s; the waiting connections stay in the backlog and
// are served once descriptors come back), refuses connections beyond `max_connections`
// (an HTTP/2 GOAWAY, then close: the client sees UNAVAILABLE), and hands every other
// socket to gRPC (grpc::AddInsecureChannelFromFd). It notices that gRPC closed a socket by
// its inode changing or its descriptor closing (checked at every accept and every second).
// Refusals and accept errors are counted (AdminStats in GetServerStats) and logged to
// stderr at most once per 10 s.
//
// With a token, every call (health and reflection included) without the metadata
// `authorization: Bearer TOKEN` fails with UNAUTHENTICATED: RingAdmin methods refuse it
// before doing any work, and for the other services an interceptor empties what they send
// and replaces their status (bearer_token.h). gRPC does not run a credentials'
// auth-metadata processor on sockets handed to it. Clients on the admin address can read
// the token off the wire (plain text), so Start refuses an address that is not loopback
// without a token, unless `insecure_public`.
//
// Thread-safety: thread-safe. The reactors must outlive the AdminServer.
#ifndef RINGSIDE_SERVICES_ADMIN_ADMIN_SERVER_H_
#define RINGSIDE_SERVICES_ADMIN_ADMIN_SERVER_H_

#include <grpcpp/server.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "ringside/reactor/reactor.h"
#include "ringside/services/admin/ring_admin_service.h"

namespace ringside::admin {

struct AdminServerOptions {
  std::string address = "127.0.0.1:9900";  // HOST:PORT ([V6]:PORT); port 0 picks a free one
  std::string token;                       // empty: no authentication
  bool insecure_public = false;  // serve a non-loopback address even without a token
  size_t max_connections = 64;   // admin connections at once; more are refused
  size_t max_watches = 8;        // WatchConnections at once; more get RESOURCE_EXHAUSTED
};

class AdminServer {
 public:
  // Listens and serves. Errors: InvalidArgument for a malformed address, FailedPrecondition
  // for a non-loopback address without a token (and without insecure_public), Unavailable
  // when the address cannot be resolved or bound.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(
      const AdminServerOptions& options, std::vector<Reactor*> reactors,
      std::map<std::string, std::string> configuration);
  ~AdminServer();  // Shutdown()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Stops accepting, ends watches, marks health NOT_SERVING, and stops the server once
  // in-flight calls are done (they are cancelled after a short grace period). Idempotent.
  void Shutdown();

  // HOST:PORT with the port actually bound.
  const std::string& address() const { return address_; }
  int port() const { return port_; }

 private:
  AdminServer() = default;

  // The accept thread.
  void AcceptLoop();
  // Accepts what `listen_fd` has waiting; false when an accept failed for want of file
  // descriptors or memory (the caller backs off).
  bool AcceptAll(int listen_fd);
  void Admit(int fd);
  // Forgets the sockets gRPC has closed.
  void Sweep();
  void MaybeLog(bool force);

  AdminServerOptions options_;
  AdminListenerCounters counters_;  // outlives service_, which reads it
  std::unique_ptr<RingAdminService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string address_;
  std::vector<int> listen_fds_;
  int wake_fd_ = -1;  // eventfd: stop the accept thread
  std::thread acceptor_;
  // Accept thread only: the sockets handed to gRPC, as (fd, device, inode).
  struct Handed {
    int fd;
    uint64_t dev;
    uint64_t ino;
  };
  std::vector<Handed> handed_;
  // Accept thread only: what the last log line covered.
  std::chrono::steady_clock::time_point last_log_{};
  uint64_t logged_connections_refused_ = 0;
  uint64_t logged_watches_refused_ = 0;
  uint64_t logged_accept_errors_ = 0;
  std::once_flag shutdown_once_;
};

}  // namespace ringside::admin

#endif  // RINGSIDE_SERVICES_ADMIN_ADMIN_SERVER_H_
