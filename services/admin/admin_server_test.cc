// AdminServer over real gRPC: the bound address, health, and bearer-token authentication
// of every service on the port.
#include "ringside/services/admin/admin_server.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>

#include "ringside/reactor/reactor.h"
#include "ringside/services/admin/admin.grpc.pb.h"
#include "ringside/services/echo/echo_handler.h"

namespace ringside::admin {
namespace {

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ReactorConfig config;
    config.address = "127.0.0.1";
    reactor_ = std::make_unique<Reactor>(config, [] { return std::make_unique<EchoHandler>(); });
    ASSERT_TRUE(reactor_->Start().ok());
  }
  void TearDown() override {
    admin_.reset();
    reactor_->Stop();
    reactor_->Join();
  }

  void StartAdmin(const std::string& token) {
    absl::StatusOr<std::unique_ptr<AdminServer>> admin =
        AdminServer::Start({.address = "127.0.0.1:0", .token = token}, {reactor_.get()}, {});
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = std::move(*admin);
    channel_ = grpc::CreateChannel(admin_->address(), grpc::InsecureChannelCredentials());
  }

  // GetServerStats with the given `authorization` metadata (none if empty).
  grpc::Status ServerStats(const std::string& authorization) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    v1::GetServerStatsResponse response;
    return v1::RingAdmin::NewStub(channel_)->GetServerStats(&context, {}, &response);
  }

  // grpc.health.v1.Health/Check for the whole server, as raw bytes: the health messages'
  // C++ classes are not part of libgrpc++'s API.
  grpc::Status HealthCheck(const std::string& authorization, std::string* response_bytes) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    grpc::GenericStub stub(channel_);
    grpc::Slice empty_request("", 0);
    const grpc::ByteBuffer request(&empty_request, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                   &response, [&](grpc::Status status) { done.set_value(std::move(status)); });
    const grpc::Status status = done.get_future().get();
    std::vector<grpc::Slice> slices;
    if (status.ok() && response.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) {
        response_bytes->append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
    return status;
  }

  std::unique_ptr<Reactor> reactor_;
  std::unique_ptr<AdminServer> admin_;
  std::shared_ptr<grpc::Channel> channel_;
};

// HealthCheckResponse{status: SERVING}: field 1, varint 1.
const std::string kServing("\x08\x01", 2);

TEST_F(AdminServerTest, WithoutATokenEveryCallIsServed) {
  StartAdmin("");
  EXPECT_TRUE(ServerStats("").ok());
  EXPECT_TRUE(ServerStats("Bearer anything").ok());
  std::string health;
  ASSERT_TRUE(HealthCheck("", &health).ok());
  EXPECT_EQ(health, kServing);
}

TEST_F(AdminServerTest, WithATokenCallsWithoutItAreUnauthenticated) {
  StartAdmin("s3cret");
  const grpc::Status missing = ServerStats("");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(missing.error_message().find("Bearer"), std::string::npos);
  EXPECT_EQ(ServerStats("Bearer s3cre").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ServerStats("Bearer s3cret!").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ServerStats("s3cret").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(ServerStats("Bearer s3cret").ok());

  // Health (and reflection) sit behind the same check.
  std::string health;
  EXPECT_EQ(HealthCheck("", &health).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(HealthCheck("Bearer s3cret", &health).ok());
  EXPECT_EQ(health, kServing);
}

TEST_F(AdminServerTest, ReportsTheBoundPortAndRefusesABusyAddress) {
  StartAdmin("");
  ASSERT_GT(admin_->port(), 0);
  EXPECT_EQ(admin_->address(), "127.0.0.1:" + std::to_string(admin_->port()));
  absl::StatusOr<std::unique_ptr<AdminServer>> second =
      AdminServer::Start({.address = admin_->address()}, {reactor_.get()}, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(AdminServer::Start({.address = "no-such-host.invalid:1"}, {reactor_.get()}, {})
                   .ok());
}

TEST_F(AdminServerTest, RefusesAPublicAddressWithoutATokenUnlessTold) {
  absl::StatusOr<std::unique_ptr<AdminServer>> refused =
      AdminServer::Start({.address = "0.0.0.0:0"}, {reactor_.get()}, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("without a token"), std::string::npos);
  EXPECT_TRUE(
      AdminServer::Start({.address = "0.0.0.0:0", .token = "t"}, {reactor_.get()}, {}).ok());
  EXPECT_TRUE(AdminServer::Start({.address = "0.0.0.0:0", .insecure_public = true},
                                 {reactor_.get()}, {})
                  .ok());
  EXPECT_EQ(AdminServer::Start({.address = "127.0.0.1"}, {reactor_.get()}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AdminServerTest, ShutdownIsIdempotent) {
  StartAdmin("");
  admin_->Shutdown();
  admin_->Shutdown();
  EXPECT_FALSE(ServerStats("").ok());
}

}  // namespace
}  // namespace ringside::admin
