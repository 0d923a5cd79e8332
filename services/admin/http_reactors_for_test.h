// http_reactors_for_test.h: running HTTP reactors and loopback clients for admin tests.
//
//   HttpReactorsForTest reactors(/*count=*/2, /*incremental=*/true);   // shared port
//   TestClient client(reactors.port());
//   PipelineRequests(client, 8);          // 8 pipelined GET /pipeline, all answered
//   ... look the connection up by ClientAddress(client) ...
//   reactors.StopAndJoin();               // after whatever takes snapshots has stopped
//
// Thread-compatible; test-only.
#ifndef RINGSIDE_SERVICES_ADMIN_HTTP_REACTORS_FOR_TEST_H_
#define RINGSIDE_SERVICES_ADMIN_HTTP_REACTORS_FOR_TEST_H_

#include <memory>
#include <string>
#include <vector>

#include "ringside/reactor/reactor.h"
#include "ringside/reactor/test_client.h"
#include "ringside/services/http/http_app.h"
#include "ringside/services/http/http_handler.h"

namespace ringside::admin {

// One GET /pipeline request; PipelineRequests sends it `depth` times back to back.
inline constexpr char kPipelineRequest[] = "GET /pipeline HTTP/1.1\r\nHost: t\r\n\r\n";
inline constexpr size_t kPipelineRequestBytes = sizeof(kPipelineRequest) - 1;

class HttpReactorsForTest {
 public:
  // Buffers are small (4 KiB, 4 per connection ring, 256 shared) and idle rings are never
  // given back, so ring state stays put while a test looks at it. Aborts the test on failure.
  HttpReactorsForTest(int count, bool incremental);
  ~HttpReactorsForTest();  // StopAndJoin()

  void StopAndJoin();
  uint16_t port() const { return reactors_.front()->port(); }
  std::vector<Reactor*> reactors() const;

 private:
  std::vector<std::unique_ptr<http::HttpApp>> apps_;  // one per reactor thread
  std::vector<std::unique_ptr<http::HttpHandler::Settings>> settings_;  // likewise
  std::vector<std::unique_ptr<Reactor>> reactors_;
};

// Sends `depth` pipelined requests and waits (with the client's deadline) for all answers.
void PipelineRequests(testing::TestClient& client, int depth);

// The client's own address, which the server reports as the connection's peer.
std::string ClientAddress(const testing::TestClient& client);

}  // namespace ringside::admin

#endif  // RINGSIDE_SERVICES_ADMIN_HTTP_REACTORS_FOR_TEST_H_
