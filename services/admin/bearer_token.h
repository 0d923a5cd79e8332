// bearer_token.h: the admin service's token check, `authorization: Bearer TOKEN`.
//
// AdminServer hands accepted sockets to gRPC itself (admin_server.h), and gRPC runs no
// credentials' auth-metadata processor on such connections, so the check lives here: every
// RingAdmin method calls BearerTokenAuthorized() before it does any work, and
// BearerTokenInterceptorFactory covers the other services on the port (health, reflection,
// unknown methods): for a call without the token it empties every message the handler
// sends and replaces the status with UNAUTHENTICATED, so nothing the handler produced
// reaches the client.
//
// Thread-safety: the functions are thread-safe; the factory is used by gRPC as it wants.
#ifndef RINGSIDE_SERVICES_ADMIN_BEARER_TOKEN_H_
#define RINGSIDE_SERVICES_ADMIN_BEARER_TOKEN_H_

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/string_ref.h>

#include <map>
#include <string>

namespace ringside::admin {

// The status a call without the right token gets.
grpc::Status UnauthenticatedStatus();

// Whether `metadata` carries `authorization: Bearer <token>`; always true for an empty
// token. Compares in time independent of where a guess differs.
bool BearerTokenAuthorized(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                           const std::string& token);

class BearerTokenInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(std::string token) : token_(std::move(token)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const std::string token_;
};

}  // namespace ringside::admin

#endif  // RINGSIDE_SERVICES_ADMIN_BEARER_TOKEN_H_
