#include "services/admin/admin_server.h"

#include <grpc/grpc_security.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ringside::admin {
namespace {

absl::string_view View(const grpc_slice& slice) {
  return absl::string_view(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slice)),
                           GRPC_SLICE_LENGTH(slice));
}

// Compares in time independent of where the strings differ, so response timing does not
// reveal how much of a guessed token was right.
bool SameToken(absl::string_view a, absl::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ (i < b.size() ? b[i] : 0);
  return diff == 0;
}

// Plain-text transport whose every call must carry `authorization: Bearer TOKEN`.
// grpc::InsecureServerCredentials() refuses an AuthMetadataProcessor, while gRPC core's
// insecure credentials accept a processor and run it before any handler, for every service
// on the port; so this wraps the core credentials (AddPortToServer is the one hook gRPC's
// C++ server calls on credentials).
class BearerTokenCredentials final : public grpc::ServerCredentials {
 public:
  explicit BearerTokenCredentials(std::string token) : expected_("Bearer " + std::move(token)) {}

  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {}

 private:
  int AddPortToServer(const std::string& address, grpc_server* server) override {
    grpc_server_credentials* credentials = grpc_insecure_server_credentials_create();
    grpc_auth_metadata_processor processor{};
    processor.state = new std::string(expected_);
    processor.destroy = [](void* state) { delete static_cast<std::string*>(state); };
    processor.process = [](void* state, grpc_auth_context*, const grpc_metadata* md,
                           size_t count, grpc_process_auth_metadata_done_cb done,
                           void* user_data) {
      const std::string& expected = *static_cast<std::string*>(state);
      for (size_t i = 0; i < count; ++i) {
        if (View(md[i].key) == "authorization" && SameToken(View(md[i].value), expected)) {
          done(user_data, &md[i], 1, nullptr, 0, GRPC_STATUS_OK, nullptr);
          return;
        }
      }
      done(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_UNAUTHENTICATED,
           "this admin service requires the metadata 'authorization: Bearer <token>' "
           "with the server's --admin_token");
    };
    grpc_server_credentials_set_auth_metadata_processor(credentials, processor);
    const int port = grpc_server_add_http2_port(server, address.c_str(), credentials);
    grpc_server_credentials_release(credentials);
    return port;
  }

  const std::string expected_;
};

// "host:0" with the bound port in place of the requested one.
std::string BoundAddress(const std::string& requested, int port) {
  const size_t colon = requested.rfind(':');
  return absl::StrCat(requested.substr(0, colon == std::string::npos ? requested.size() : colon),
                      ":", port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(
    const AdminServerOptions& options, std::vector<Reactor*> reactors,
    std::map<std::string, std::string> configuration) {
  // Both are process-wide switches that take effect for servers built afterwards.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<AdminServer> admin(new AdminServer());
  admin->service_ =
      std::make_unique<RingAdminService>(std::move(reactors), std::move(configuration));
  std::shared_ptr<grpc::ServerCredentials> credentials =
      options.token.empty() ? grpc::InsecureServerCredentials()
                            : std::make_shared<BearerTokenCredentials>(options.token);
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default; a second server on a busy admin port must fail, not
  // silently share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options.address, credentials, &admin->port_);
  builder.RegisterService(admin->service_.get());
  admin->server_ = builder.BuildAndStart();
  if (admin->server_ == nullptr || admin->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve the admin service on ", options.address,
                     " (expected HOST:PORT, free and bindable)"));
  }
  admin->address_ = BoundAddress(options.address, admin->port_);
  admin->server_->GetHealthCheckService()->SetServingStatus(true);
  return admin;
}

AdminServer::~AdminServer() { Shutdown(); }

void AdminServer::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    if (server_ == nullptr) return;
    service_->BeginShutdown();
    server_->GetHealthCheckService()->Shutdown();
    // Unary calls take milliseconds and watches end at once; the deadline only bounds a
    // client that stopped reading.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_->Wait();
  });
}

}  // namespace ringside::admin
