// The ringside server: HTTP/1.1 or TCP echo on N io_uring reactors (DESIGN.md, "Contracts").
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "net/http_parser.h"
#include "reactor/reactor.h"
#include "services/admin/admin_server.h"
#include "services/echo/echo_handler.h"
#include "services/heap_trimmer.h"
#include "services/http/http_app.h"
#include "services/http/http_handler.h"
#include "services/http/worker_pool.h"

ABSL_FLAG(std::string, address, "0.0.0.0", "IPv4 or IPv6 address to listen on");
ABSL_FLAG(int, port, 8080, "TCP port (0 picks a free one)");
ABSL_FLAG(int, reactors, static_cast<int>(std::thread::hardware_concurrency()),
          "reactor threads, each with its own io_uring and SO_REUSEPORT listener");
ABSL_FLAG(std::string, protocol, "http", "http or echo");
ABSL_FLAG(bool, incremental, true,
          "per-connection rings with IOU_PBUF_RING_INC; false: one shared ring per reactor");
ABSL_FLAG(bool, force_incremental_fallback, false,
          "behave as a kernel without IOU_PBUF_RING_INC (tests the shared-ring fallback)");
ABSL_FLAG(int, buffer_size, 16384, "bytes per receive buffer");
ABSL_FLAG(int, ring_entries, 1024, "buffers in a reactor's shared ring (shared mode)");
ABSL_FLAG(int, conn_ring_entries, 8, "buffers in each connection's ring (incremental mode)");
ABSL_FLAG(int, handler_threads, 0, "HTTP app worker threads; 0 runs it on the reactors");
ABSL_FLAG(int, ring_idle_ms, 2000,
          "a connection idle this long, holding no buffers, gives its ring back");
ABSL_FLAG(std::string, wait, "submit_and_wait",
          "reactor wait strategy: submit_and_wait | submit_then_wait | busy_poll");
ABSL_FLAG(std::string, admin_address, "127.0.0.1:9900", "admin gRPC address; empty disables");
ABSL_FLAG(std::string, admin_token, "", "bearer token the admin service requires; empty: none");
ABSL_FLAG(int64_t, max_connections, 100000, "open connections per reactor");
ABSL_FLAG(int64_t, max_connections_total, 1000000, "open connections of all reactors together");
ABSL_FLAG(int, idle_timeout_ms, 60000,
          "close a connection with no bytes in or out for this long; 0: never");
ABSL_FLAG(int, header_timeout_ms, 10000,
          "HTTP: a request line and headers must arrive within this long of their first byte "
          "(slowloris), else 408 and close");
ABSL_FLAG(int, body_timeout_ms, 10000,
          "HTTP: a request body must keep arriving: each --body_min_rate x this / 1000 bytes "
          "(at least 1) within this long of the head's end or of the last such mark, else 408 "
          "and close (body_timeouts); 0: no body timeout");
ABSL_FLAG(int, body_min_rate, 1024,
          "HTTP: bytes a second a request body must bring, per --body_timeout_ms window; 0: "
          "one byte per window");
ABSL_FLAG(int64_t, buffer_budget_mb, 4096, "receive-buffer memory per reactor, MiB");
ABSL_FLAG(int64_t, output_high_water, 1 << 20,
          "unsent bytes per connection above which it stops reading");
ABSL_FLAG(int64_t, input_high_water, 256 << 10,
          "unconsumed received bytes per connection above which it stops reading; at least "
          "max_request_line + max_header_bytes + 16, so that any request head fits");
ABSL_FLAG(int64_t, output_pool_mb, 64,
          "per reactor: output bytes handlers format are copied into 16 KiB blocks from a pool "
          "of this many MiB; a connection that finds it full stops reading until its output "
          "drains (received bodies and fixed responses are sent by reference, without blocks)");
ABSL_FLAG(int, send_timeout_ms, 30000,
          "close a connection whose unsent output made no progress for this long (a client "
          "that never reads); 0: never");
ABSL_FLAG(int64_t, max_chunk_overhead, 64 << 10,
          "chunked request bodies: chunk-extension and trailer bytes allowed per request "
          "(431 above)");
ABSL_FLAG(int64_t, max_body, 8 << 20, "largest request body, bytes (413 above)");
ABSL_FLAG(int, max_request_line, 8192, "longest request line, bytes (414 above)");
ABSL_FLAG(int, max_header_bytes, 16384, "largest header block, bytes (431 above)");
ABSL_FLAG(int, shutdown_timeout_ms, 10000, "on SIGINT/SIGTERM, how long in-flight work may take");
ABSL_FLAG(int, heap_trim_interval_ms, 1000,
          "how often freed heap memory over 2 MiB is given back to the kernel; 0: never");

namespace ringside {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "ringside: %s\n", message.c_str());
  return 2;
}

bool ParseWait(const std::string& name, WaitStrategy* out) {
  if (name == "submit_and_wait") *out = WaitStrategy::kSubmitAndWait;
  else if (name == "submit_then_wait") *out = WaitStrategy::kSubmitThenWait;
  else if (name == "busy_poll") *out = WaitStrategy::kBusyPoll;
  else return false;
  return true;
}

// The server's own flags and their values, as GetServerStats reports them. Reading them
// from the flag registry keeps the report complete as flags are added; the token is
// reported only as set or not.
std::map<std::string, std::string> ServerConfiguration() {
  std::map<std::string, std::string> configuration;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!absl::EndsWith(flag->Filename(), "services/server_main.cc")) continue;
    std::string value = flag->CurrentValue();
    if (name == "admin_token" && !value.empty()) value = "(set)";
    configuration[std::string(name)] = std::move(value);
  }
  return configuration;
}

int Main() {
  const std::string protocol = absl::GetFlag(FLAGS_protocol);
  if (protocol != "http" && protocol != "echo") {
    return Fail("--protocol must be http or echo, got " + protocol);
  }
  const int reactors = absl::GetFlag(FLAGS_reactors);
  if (reactors < 1 || reactors > 1024) return Fail("--reactors must be in [1, 1024]");
  const int port = absl::GetFlag(FLAGS_port);
  if (port < 0 || port > 65535) return Fail("--port must be in [0, 65535]");
  ReactorConfig config;
  config.address = absl::GetFlag(FLAGS_address);
  config.port = static_cast<uint16_t>(port);
  if (!ParseWait(absl::GetFlag(FLAGS_wait), &config.wait)) {
    return Fail("--wait must be submit_and_wait, submit_then_wait or busy_poll");
  }
  config.ring_idle_ms = static_cast<uint32_t>(absl::GetFlag(FLAGS_ring_idle_ms));
  config.output_high_water = static_cast<size_t>(absl::GetFlag(FLAGS_output_high_water));
  config.max_connections = static_cast<size_t>(absl::GetFlag(FLAGS_max_connections));
  const int64_t max_total = absl::GetFlag(FLAGS_max_connections_total);
  if (max_total < 1) return Fail("--max_connections_total must be at least 1");
  ConnectionLimit total_connections(static_cast<size_t>(max_total));
  config.total_connections = &total_connections;
  const int idle_timeout_ms = absl::GetFlag(FLAGS_idle_timeout_ms);
  const int header_timeout_ms = absl::GetFlag(FLAGS_header_timeout_ms);
  if (idle_timeout_ms < 0) return Fail("--idle_timeout_ms must not be negative");
  if (header_timeout_ms < 1) return Fail("--header_timeout_ms must be at least 1");
  const int body_timeout_ms = absl::GetFlag(FLAGS_body_timeout_ms);
  const int body_min_rate = absl::GetFlag(FLAGS_body_min_rate);
  if (body_timeout_ms < 0) return Fail("--body_timeout_ms must not be negative (0: never)");
  if (body_min_rate < 0) return Fail("--body_min_rate must not be negative");
  config.idle_timeout_ms = static_cast<uint32_t>(idle_timeout_ms);
  const int send_timeout_ms = absl::GetFlag(FLAGS_send_timeout_ms);
  if (send_timeout_ms < 0) return Fail("--send_timeout_ms must not be negative (0: never)");
  config.send_timeout_ms = static_cast<uint32_t>(send_timeout_ms);
  const int64_t output_pool_mb = absl::GetFlag(FLAGS_output_pool_mb);
  if (output_pool_mb < 1 || output_pool_mb > (int64_t{1} << 20)) {
    return Fail(absl::StrCat("--output_pool_mb must be in [1, 1048576], got ", output_pool_mb));
  }
  config.output_pool_blocks =
      static_cast<size_t>(output_pool_mb << 20) / config.output_block_size;
  config.shutdown_timeout_ms = static_cast<uint32_t>(absl::GetFlag(FLAGS_shutdown_timeout_ms));
  config.buffers.incremental = absl::GetFlag(FLAGS_incremental);
  config.buffers.simulate_incremental_unsupported =
      absl::GetFlag(FLAGS_force_incremental_fallback);
  config.buffers.buffer_size = static_cast<uint32_t>(absl::GetFlag(FLAGS_buffer_size));
  config.buffers.shared_entries = static_cast<uint32_t>(absl::GetFlag(FLAGS_ring_entries));
  config.buffers.connection_entries =
      static_cast<uint32_t>(absl::GetFlag(FLAGS_conn_ring_entries));
  config.buffers.budget_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_buffer_budget_mb)) << 20;

  const int trim_interval_ms = absl::GetFlag(FLAGS_heap_trim_interval_ms);
  if (trim_interval_ms < 0) return Fail("--heap_trim_interval_ms must not be negative");
  // Before the reactors start, so every block they allocate is under the same policy.
  HeapTrimmer heap_trimmer({});

  net::HttpLimits limits;
  limits.max_body = static_cast<size_t>(absl::GetFlag(FLAGS_max_body));
  limits.max_request_line = static_cast<size_t>(absl::GetFlag(FLAGS_max_request_line));
  limits.max_header_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_header_bytes));
  const int64_t max_chunk_overhead = absl::GetFlag(FLAGS_max_chunk_overhead);
  if (max_chunk_overhead < 0) return Fail("--max_chunk_overhead must not be negative");
  limits.max_chunk_overhead = static_cast<size_t>(max_chunk_overhead);
  const int64_t input_high_water = absl::GetFlag(FLAGS_input_high_water);
  // The request line and header section with their CRLFs, and the empty lines the parser
  // skips before a request line.
  const size_t largest_head = limits.max_request_line + limits.max_header_bytes + 16;
  if (input_high_water < static_cast<int64_t>(largest_head)) {
    return Fail(absl::StrCat("--input_high_water must be at least --max_request_line + "
                             "--max_header_bytes + 16 = ", largest_head,
                             " (a request head must fit), got ", input_high_water));
  }
  config.input_high_water = static_cast<size_t>(input_high_water);
  // Worker mode hands whole requests to the workers, so a whole request must fit.
  if (protocol == "http" && absl::GetFlag(FLAGS_handler_threads) > 0) {
    config.input_high_water = std::max(config.input_high_water,
                                       http::HttpHandler::MaxBatchedRequestBytes(limits));
  }

  // Signals are taken synchronously by this thread; reactor threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<http::WorkerPool> workers;
  if (const int n = absl::GetFlag(FLAGS_handler_threads); n > 0) {
    workers = std::make_unique<http::WorkerPool>(static_cast<size_t>(n));
  }
  std::vector<std::unique_ptr<http::HttpApp>> apps;
  std::vector<std::unique_ptr<Reactor>> group;
  for (int i = 0; i < reactors; ++i) {
    config.id = static_cast<uint32_t>(i);
    HandlerFactory factory;
    if (protocol == "echo") {
      factory = [] { return std::make_unique<EchoHandler>(); };
    } else {
      apps.push_back(std::make_unique<http::HttpApp>());
      factory = [app = apps.back().get(), limits, pool = workers.get(), header_timeout_ms,
                 body_timeout_ms, body_min_rate] {
        return std::make_unique<http::HttpHandler>(
            app, limits, pool, static_cast<uint32_t>(header_timeout_ms),
            static_cast<uint32_t>(body_timeout_ms), static_cast<uint32_t>(body_min_rate));
      };
    }
    group.push_back(std::make_unique<Reactor>(config, std::move(factory)));
    if (absl::Status status = group.back()->Start(); !status.ok()) {
      return Fail(std::string(status.message()));
    }
    // With --port=0 the first reactor picked the port; the others share it.
    config.port = group.front()->port();
  }
  const Reactor& first = *group.front();
  std::string features;
  for (const std::string& f : first.features()) absl::StrAppend(&features, " ", f);
  std::fprintf(stderr, "ringside: %d reactor(s), %s mode, io_uring:%s\n", reactors,
               first.incremental() ? "incremental" : "shared", features.c_str());
  if (!first.fallback_reason().empty()) {
    std::fprintf(stderr, "ringside: falling back to shared rings: %s\n",
                 first.fallback_reason().c_str());
  }
  const std::string host = config.address.find(':') != std::string::npos
                               ? absl::StrCat("[", config.address, "]")
                               : config.address;
  std::printf("listening on %s:%u (%s)\n", host.c_str(), first.port(), protocol.c_str());
  std::unique_ptr<admin::AdminServer> admin_server;
  if (const std::string admin_address = absl::GetFlag(FLAGS_admin_address);
      !admin_address.empty()) {
    std::vector<Reactor*> reactor_list;
    for (auto& reactor : group) reactor_list.push_back(reactor.get());
    absl::StatusOr<std::unique_ptr<admin::AdminServer>> started = admin::AdminServer::Start(
        {.address = admin_address, .token = absl::GetFlag(FLAGS_admin_token)},
        std::move(reactor_list), ServerConfiguration());
    if (!started.ok()) return Fail(std::string(started.status().message()));
    admin_server = std::move(*started);
    std::printf("listening on %s (admin)\n", admin_server->address().c_str());
  }
  std::fflush(stdout);

  // This thread has nothing else to do while it waits for a signal, so it keeps the heap.
  int signal_number = 0;
  if (trim_interval_ms > 0) {
    const timespec interval{.tv_sec = trim_interval_ms / 1000,
                            .tv_nsec = (trim_interval_ms % 1000) * 1000000L};
    while ((signal_number = sigtimedwait(&signals, nullptr, &interval)) < 0) {
      heap_trimmer.MaybeTrim();
    }
  } else {
    sigwait(&signals, &signal_number);
  }
  std::fprintf(stderr, "ringside: signal %d, finishing in-flight work\n", signal_number);
  // The admin server stops first: a reactor that has ended only repeats its last snapshot.
  if (admin_server) admin_server->Shutdown();
  for (auto& reactor : group) reactor->Stop();
  for (auto& reactor : group) reactor->Join();
  // Workers post to the reactors, so they stop first.
  workers.reset();
  return 0;
}

}  // namespace
}  // namespace ringside

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("ringside: io_uring HTTP/1.1 and TCP echo server");
  absl::ParseCommandLine(argc, argv);
  return ringside::Main();
}
