// Proves the proto + gRPC codegen path: generated stubs serve and call over loopback.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>

#include "ringside/services/admin/admin.grpc.pb.h"

namespace ringside::admin::v1 {
namespace {

class FixedAdmin final : public RingAdmin::Service {
  grpc::Status GetServerStats(grpc::ServerContext*, const GetServerStatsRequest*,
                              GetServerStatsResponse* response) override {
    response->set_effective_mode("incremental");
    response->add_reactors()->set_cqes(42);
    return grpc::Status::OK;
  }
  grpc::Status WatchConnections(grpc::ServerContext*, const WatchConnectionsRequest* request,
                                grpc::ServerWriter<ConnectionsSnapshot>* writer) override {
    for (uint64_t i = 1; i <= request->interval_ms(); ++i) {
      ConnectionsSnapshot snapshot;
      snapshot.set_sequence(i);
      writer->Write(snapshot);
    }
    return grpc::Status::OK;
  }
};

TEST(AdminCodegenTest, UnaryAndServerStreamingCallsRoundTrip) {
  FixedAdmin service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(port, 0);

  auto stub = RingAdmin::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                     grpc::InsecureChannelCredentials()));
  grpc::ClientContext unary_context;
  GetServerStatsResponse stats;
  ASSERT_TRUE(stub->GetServerStats(&unary_context, {}, &stats).ok());
  EXPECT_EQ(stats.effective_mode(), "incremental");
  ASSERT_EQ(stats.reactors_size(), 1);
  EXPECT_EQ(stats.reactors(0).cqes(), 42u);

  grpc::ClientContext stream_context;
  WatchConnectionsRequest watch;
  watch.set_interval_ms(3);
  auto reader = stub->WatchConnections(&stream_context, watch);
  ConnectionsSnapshot snapshot;
  uint64_t expected = 1;
  while (reader->Read(&snapshot)) EXPECT_EQ(snapshot.sequence(), expected++);
  EXPECT_EQ(expected, 4u);
  EXPECT_TRUE(reader->Finish().ok());

  grpc::ClientContext missing_context;
  GetConnectionResponse missing;
  EXPECT_EQ(stub->GetConnection(&missing_context, {}, &missing).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  server->Shutdown();
}

}  // namespace
}  // namespace ringside::admin::v1
