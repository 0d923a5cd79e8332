// admin_embedded: the admin gRPC service inside a server of your own.
//
// A custom protocol (it answers every line with its length) runs on a ReactorGroup; the
// admin server serves RingAdmin (and gRPC health and reflection) for those reactors on a
// loopback port. A client then lists the live connections through the admin API, as
// `ringstat list` would. Exits 0 if the admin service saw the connection the example made.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "ringside/examples/loopback_client.h"
#include "ringside/reactor/connection_handler.h"
#include "ringside/reactor/reactor_group.h"
#include "ringside/services/admin/admin.grpc.pb.h"
#include "ringside/services/admin/admin_server.h"

class LineLengthHandler final : public ringside::ConnectionHandler {
 public:
  void OnInput(ringside::ConnectionIo& io) override {
    for (size_t end; (end = io.input().pending().find('\n')) != std::string_view::npos;) {
      io.output().AppendOrSpill(std::to_string(end) + "\n");
      io.input().Consume(end + 1);
    }
  }
};

int main() {
  ringside::ReactorGroup::BlockStopSignals();
  ringside::ReactorGroupConfig config;
  config.reactor.address = "127.0.0.1";
  ringside::ReactorGroup group(config, [](uint32_t) -> ringside::HandlerFactory {
    return [] { return std::make_unique<LineLengthHandler>(); };
  });
  if (absl::Status status = group.Start(); !status.ok()) return 1;

  // The admin server over the group's reactors, on a free loopback port, without a token;
  // the map is what GetServerStats reports as the server's configuration.
  ringside::admin::AdminServerOptions options;
  options.address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<ringside::admin::AdminServer>> admin =
      ringside::admin::AdminServer::Start(options, group.reactors(), {{"protocol", "line-length"}});
  if (!admin.ok()) {
    std::fprintf(stderr, "admin: %s\n", std::string(admin.status().message()).c_str());
    return 1;
  }

  // A connection of our own, answered once, so it is live and has moved bytes.
  const int fd = examples::ConnectToLoopback(group.port());
  if (fd < 0 || examples::Exchange(fd, "ringside\n", 2) != "8\n") return 1;

  // What the admin API says about it.
  auto stub = ringside::admin::v1::RingAdmin::NewStub(
      grpc::CreateChannel((*admin)->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  ringside::admin::v1::ListConnectionsRequest request;
  ringside::admin::v1::ListConnectionsResponse response;
  const grpc::Status status = stub->ListConnections(&context, request, &response);
  bool seen = false;
  for (const auto& connection : response.connections()) {
    std::printf("connection %lu from %s: %lu bytes in, %lu out\n",
                static_cast<unsigned long>(connection.connection_id()), connection.peer().c_str(),
                static_cast<unsigned long>(connection.recv_bytes()),
                static_cast<unsigned long>(connection.bytes_sent()));
    seen |= connection.recv_bytes() == 9 && connection.bytes_sent() == 2;
  }
  close(fd);

  (*admin)->Shutdown();  // before the reactors stop
  const bool stopped = group.Stop().ok();
  return status.ok() && seen && stopped ? 0 : 1;
}
