// The ringside server: HTTP/1.1 or TCP echo on N io_uring reactors (DESIGN.md, "Contracts").
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ringside/net/http_parser.h"
#include "ringside/reactor/proxy_header.h"
#include "ringside/reactor/reactor.h"
#include "ringside/reactor/reactor_group.h"
#include "ringside/reactor/trusted_networks.h"
#include "ringside/services/admin/admin_server.h"
#include "ringside/services/echo/echo_handler.h"
#include "ringside/services/fd_budget.h"
#include "ringside/services/heap_trimmer.h"
#include "ringside/services/http/http_app.h"
#include "ringside/services/http/http_handler.h"
#include "ringside/services/http/worker_pool.h"
#include "ringside/services/metrics/metrics_server.h"

ABSL_FLAG(std::string, address, "0.0.0.0", "IPv4 or IPv6 address to listen on");
ABSL_FLAG(int, port, 8080, "TCP port (0 picks a free one)");
ABSL_FLAG(bool, reuse_port, false,
          "let other processes listen on the same port and share its connections "
          "(SO_REUSEPORT across processes); off: starting on a port something else holds "
          "fails. The reactors of this process share their port either way");
ABSL_FLAG(int, reactors, static_cast<int>(std::thread::hardware_concurrency()),
          "reactor threads, each with its own io_uring and listener, in [1, 1024]");
ABSL_FLAG(std::string, protocol, "http", "http or echo");
ABSL_FLAG(bool, incremental, true,
          "per-connection rings with IOU_PBUF_RING_INC (a connection that cannot have one: "
          "no bgid, over --buffer_budget_mb, or RLIMIT_MEMLOCK used up, is served on the "
          "reactor's shared ring); false: one shared ring per reactor");
ABSL_FLAG(bool, force_incremental_fallback, false,
          "behave as a kernel without IOU_PBUF_RING_INC (tests the shared-ring fallback)");
ABSL_FLAG(int, buffer_size, 16384, "bytes per receive buffer, in [1024, 1048576]");
ABSL_FLAG(int, ring_entries, 1024,
          "buffers in a reactor's shared ring (shared mode; in incremental mode, the ring of "
          "connections without their own), a power of two in [16, 32768]");
ABSL_FLAG(int, conn_ring_entries, 8,
          "buffers in each connection's ring (incremental mode), a power of two in [2, 32768] "
          "whose buffers hold the largest request head and one buffer more; every ring costs "
          "at least a 4 KiB page of the user's RLIMIT_MEMLOCK (`ulimit -l`)");
ABSL_FLAG(int, queue_entries, 4096,
          "each reactor's io_uring: SQ entries, and four times as many CQ entries, in [1, "
          "16384]; 4096 costs 532 KiB of the user's RLIMIT_MEMLOCK (`ulimit -l`) per reactor");
ABSL_FLAG(int, handler_threads, 0,
          "HTTP app worker threads, in [0, 1024]; 0 runs the app on the reactors");
ABSL_FLAG(int, ring_idle_ms, 2000,
          "a connection idle this long, holding no buffers, gives its ring back; in "
          "[1, 86400000]");
ABSL_FLAG(std::string, wait, "submit_and_wait",
          "reactor wait strategy: submit_and_wait | submit_then_wait | busy_poll");
ABSL_FLAG(std::string, admin_address, "127.0.0.1:9900", "admin gRPC address; empty disables");
ABSL_FLAG(std::string, admin_token, "",
          "bearer token the admin service requires; empty: none. Other local users can read "
          "it in /proc/PID/cmdline (and ps): prefer --admin_token_file");
ABSL_FLAG(std::string, admin_token_file, "",
          "file whose content (one trailing newline stripped) is the admin token; read at "
          "start, which fails if it is unreadable or empty");
ABSL_FLAG(bool, admin_insecure_public, false,
          "serve the admin service on a non-loopback --admin_address without a token (it "
          "shows every client's address); refused otherwise");
ABSL_FLAG(int, admin_max_connections, 64,
          "admin connections at once, in [1, 10000]; more are refused (closed after an HTTP/2 "
          "GOAWAY)");
ABSL_FLAG(int, admin_max_watches, 8,
          "admin WatchConnections streams at once, in [0, 1024]; more get RESOURCE_EXHAUSTED; "
          "0: none");
ABSL_FLAG(std::string, metrics_address, "",
          "Prometheus metrics: GET /metrics in the text format on this numeric HOST:PORT "
          "([V6]:PORT), served by a reactor of its own; empty (the default) disables");
ABSL_FLAG(bool, metrics_insecure_public, false,
          "serve the metrics on a non-loopback --metrics_address (the endpoint has no "
          "authentication); refused otherwise");
ABSL_FLAG(int, metrics_max_connections, 16,
          "metrics connections at once, in [1, 1024]; more are refused");
ABSL_FLAG(int64_t, max_connections, 100000, "open connections per reactor, at least 1");
ABSL_FLAG(int64_t, max_connections_total, 1000000,
          "open connections of all reactors together, at least 1; lowered at start to what "
          "RLIMIT_NOFILE leaves room for (the server says so)");
ABSL_FLAG(int, idle_timeout_ms, 60000,
          "close a connection with no bytes in or out for this long; 0: never");
ABSL_FLAG(int, header_timeout_ms, 10000,
          "HTTP: a request line and headers must arrive within this long of their first byte "
          "(slowloris), else 408 and close");
ABSL_FLAG(int, body_timeout_ms, 10000,
          "HTTP: a request body must keep arriving: each --body_min_rate x this / 1000 bytes "
          "(at least 1) within this long of the head's end or of the last such mark, else 408 "
          "and close (body_timeouts); in [0, 86400000]; 0: no body timeout");
ABSL_FLAG(int, body_min_rate, 1024,
          "HTTP: bytes a second a request body must bring, per --body_timeout_ms window, in "
          "[0, 1 GiB]; 0: one byte per window");
ABSL_FLAG(int64_t, buffer_budget_mb, 4096,
          "receive-buffer memory per reactor, MiB, in [1, 1048576]; it must hold at least 64 "
          "connection rings (incremental mode) or the shared ring");
ABSL_FLAG(int64_t, output_high_water, 1 << 20,
          "unsent bytes per connection above which it stops reading, in [1024, 1 GiB]");
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
ABSL_FLAG(int64_t, max_body, 8 << 20,
          "largest request body, bytes (413 above), in [0, 1 TiB]; 0: requests with a body "
          "are refused");
ABSL_FLAG(int, max_request_line, 8192, "longest request line, bytes (414 above), in [64, 1 MiB]");
ABSL_FLAG(int, max_header_bytes, 16384,
          "largest header block, bytes (431 above), in [64, 1 MiB]");
ABSL_FLAG(int, shutdown_timeout_ms, 10000,
          "on SIGINT/SIGTERM, how long in-flight work may take, in [0, 3600000]; 0: close "
          "at once. A second SIGINT/SIGTERM exits at once, cutting responses in flight");
ABSL_FLAG(std::string, proxy_protocol, "off",
          "PROXY protocol header required first on every connection, from a load balancer: "
          "off, v1, v2 or any (v1 or v2); the client it names becomes the peer. Needs "
          "--proxy_trusted_networks; a connection without a valid header is closed");
ABSL_FLAG(std::string, proxy_trusted_networks, "",
          "comma-separated ADDRESS/PREFIX networks (e.g. 127.0.0.0/8,::1/128) whose "
          "connections may send a PROXY header; with --proxy_protocol on, connections from "
          "elsewhere are closed");
ABSL_FLAG(int, heap_trim_interval_ms, 1000,
          "how often freed heap memory over 2 MiB is given back to the kernel; 0: never");

namespace ringside {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "ringside: %s\n", message.c_str());
  return 2;
}

bool ParseProxyVersions(const std::string& name, ProxyVersions* out) {
  if (name == "off") *out = ProxyVersions::kOff;
  else if (name == "v1") *out = ProxyVersions::kV1;
  else if (name == "v2") *out = ProxyVersions::kV2;
  else if (name == "any") *out = ProxyVersions::kAny;
  else return false;
  return true;
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

// The admin token from --admin_token or --admin_token_file (not both).
bool AdminToken(std::string* token, std::string* error) {
  const std::string path = absl::GetFlag(FLAGS_admin_token_file);
  *token = absl::GetFlag(FLAGS_admin_token);
  if (path.empty()) return true;
  if (!token->empty()) {
    *error = "--admin_token and --admin_token_file are exclusive";
    return false;
  }
  std::ifstream file(path, std::ios::binary);
  std::stringstream content;
  content << file.rdbuf();
  if (!file.is_open() || file.bad()) {
    *error = absl::StrCat("--admin_token_file: cannot read ", path, ": ", std::strerror(errno));
    return false;
  }
  *token = content.str();
  if (absl::EndsWith(*token, "\n")) token->pop_back();
  if (absl::EndsWith(*token, "\r")) token->pop_back();
  if (token->empty()) {
    *error = absl::StrCat("--admin_token_file: ", path, " is empty");
    return false;
  }
  return true;
}

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;

// Appends "--NAME must be in [LO, HI], got VALUE" to `errors` when the flag is outside.
template <typename T>
void CheckRange(const absl::Flag<T>& flag, int64_t lo, int64_t hi,
                std::vector<std::string>* errors) {
  const int64_t value = absl::GetFlag(flag);
  if (value < lo || value > hi) {
    errors->push_back(absl::StrCat("--", absl::GetFlagReflectionHandle(flag).Name(),
                                   " must be in [", lo, ", ", hi, "], got ", value));
  }
}

void CheckPowerOfTwo(const absl::Flag<int>& flag, int lo, std::vector<std::string>* errors) {
  const int value = absl::GetFlag(flag);
  if (value < lo || value > 32768 || !std::has_single_bit(static_cast<unsigned>(value))) {
    errors->push_back(absl::StrCat("--", absl::GetFlagReflectionHandle(flag).Name(),
                                   " must be a power of two in [", lo, ", 32768], got ", value));
  }
}

// Every numeric flag against its valid range, and the ones that only make sense together.
// All errors at once, so an operator fixes a command line in one go.
std::vector<std::string> FlagErrors() {
  std::vector<std::string> errors;
  CheckRange(FLAGS_port, 0, 65535, &errors);
  CheckRange(FLAGS_reactors, 1, 1024, &errors);
  CheckRange(FLAGS_buffer_size, 1024, kMiB, &errors);
  CheckPowerOfTwo(FLAGS_ring_entries, 16, &errors);
  CheckPowerOfTwo(FLAGS_conn_ring_entries, 2, &errors);
  CheckRange(FLAGS_queue_entries, 1, 16384, &errors);
  CheckRange(FLAGS_handler_threads, 0, 1024, &errors);
  CheckRange(FLAGS_ring_idle_ms, 1, kDayMs, &errors);
  CheckRange(FLAGS_max_connections, 1, 100'000'000, &errors);
  CheckRange(FLAGS_max_connections_total, 1, 100'000'000, &errors);
  CheckRange(FLAGS_idle_timeout_ms, 0, kDayMs, &errors);
  CheckRange(FLAGS_header_timeout_ms, 1, kHourMs, &errors);
  CheckRange(FLAGS_body_timeout_ms, 0, kDayMs, &errors);
  CheckRange(FLAGS_body_min_rate, 0, kGiB, &errors);
  CheckRange(FLAGS_buffer_budget_mb, 1, kMiB, &errors);
  CheckRange(FLAGS_output_high_water, 1024, kGiB, &errors);
  CheckRange(FLAGS_input_high_water, 1024, kGiB, &errors);
  CheckRange(FLAGS_output_pool_mb, 1, kMiB, &errors);
  CheckRange(FLAGS_send_timeout_ms, 0, kDayMs, &errors);
  CheckRange(FLAGS_max_chunk_overhead, 0, kGiB, &errors);
  CheckRange(FLAGS_max_body, 0, kGiB * 1024, &errors);
  CheckRange(FLAGS_max_request_line, 64, kMiB, &errors);
  CheckRange(FLAGS_max_header_bytes, 64, kMiB, &errors);
  CheckRange(FLAGS_shutdown_timeout_ms, 0, kHourMs, &errors);
  CheckRange(FLAGS_heap_trim_interval_ms, 0, kHourMs, &errors);
  CheckRange(FLAGS_admin_max_connections, 1, 10'000, &errors);
  CheckRange(FLAGS_admin_max_watches, 0, 1024, &errors);
  CheckRange(FLAGS_metrics_max_connections, 1, 1024, &errors);
  ProxyVersions proxy_versions = ProxyVersions::kOff;
  if (!ParseProxyVersions(absl::GetFlag(FLAGS_proxy_protocol), &proxy_versions)) {
    errors.push_back(absl::StrCat("--proxy_protocol must be off, v1, v2 or any, got ",
                                  absl::GetFlag(FLAGS_proxy_protocol)));
  }
  const absl::StatusOr<TrustedNetworks> trusted =
      TrustedNetworks::Parse(absl::GetFlag(FLAGS_proxy_trusted_networks));
  if (!trusted.ok()) {
    errors.push_back(absl::StrCat("--proxy_trusted_networks: ", trusted.status().message()));
  } else if (proxy_versions != ProxyVersions::kOff && trusted->empty()) {
    errors.push_back("--proxy_protocol needs --proxy_trusted_networks: the sources whose "
                     "PROXY headers are believed (e.g. the load balancers' addresses)");
  }
  if (!errors.empty()) return errors;  // the checks below assume sane values

  // The request line and header section with their CRLFs, and the empty lines the parser
  // skips before a request line.
  const int64_t largest_head = int64_t{absl::GetFlag(FLAGS_max_request_line)} +
                               absl::GetFlag(FLAGS_max_header_bytes) + 16;
  if (absl::GetFlag(FLAGS_input_high_water) < largest_head) {
    errors.push_back(absl::StrCat("--input_high_water must be at least --max_request_line + "
                                  "--max_header_bytes + 16 = ", largest_head,
                                  " (a request head must fit), got ",
                                  absl::GetFlag(FLAGS_input_high_water)));
  }
  const int64_t buffer_size = absl::GetFlag(FLAGS_buffer_size);
  const int64_t budget = absl::GetFlag(FLAGS_buffer_budget_mb) * kMiB;
  if (absl::GetFlag(FLAGS_incremental)) {
    // A connection's unconsumed input stays in its own ring's buffers, so the ring must
    // hold the largest head, plus a buffer for the bytes that complete it.
    const int64_t ring_bytes = buffer_size * absl::GetFlag(FLAGS_conn_ring_entries);
    if (ring_bytes < largest_head + buffer_size) {
      errors.push_back(absl::StrCat(
          "--conn_ring_entries x --buffer_size = ", ring_bytes, " bytes cannot hold the "
          "largest request head plus one buffer (", largest_head + buffer_size,
          "); raise either, or lower --max_request_line/--max_header_bytes"));
    } else if (budget / ring_bytes < 64) {
      errors.push_back(absl::StrCat(
          "--buffer_budget_mb=", absl::GetFlag(FLAGS_buffer_budget_mb), " holds only ",
          budget / ring_bytes, " connection rings of ", ring_bytes,
          " bytes (--conn_ring_entries x --buffer_size); at least 64 are needed"));
    }
  }
  // Shared mode, and the fallback on kernels without IOU_PBUF_RING_INC.
  if (budget < buffer_size * absl::GetFlag(FLAGS_ring_entries)) {
    errors.push_back(absl::StrCat("--buffer_budget_mb=", absl::GetFlag(FLAGS_buffer_budget_mb),
                                  " cannot hold the shared ring (--ring_entries x "
                                  "--buffer_size = ",
                                  buffer_size * absl::GetFlag(FLAGS_ring_entries), " bytes)"));
  }
  return errors;
}

// Descriptors the process needs besides its connections: stdio, per reactor its listener,
// io_uring and eventfd, the admin service's listener, epoll sets and its connections (at
// most --admin_max_connections), the metrics reactor's and its connections (at most
// --metrics_max_connections), and headroom for the refusals themselves (a refused
// connection is accepted, then closed).
uint64_t ReservedDescriptors(int reactors) {
  const bool admin = !absl::GetFlag(FLAGS_admin_address).empty();
  const bool metrics = !absl::GetFlag(FLAGS_metrics_address).empty();
  return 64 + 4 * static_cast<uint64_t>(reactors) +
         (admin ? static_cast<uint64_t>(absl::GetFlag(FLAGS_admin_max_connections)) : 0) +
         (metrics ? 4 + static_cast<uint64_t>(absl::GetFlag(FLAGS_metrics_max_connections))
                  : 0);
}

int Main() {
  if (std::vector<std::string> errors = FlagErrors(); !errors.empty()) {
    for (const std::string& error : errors) Fail(error);
    return 2;
  }
  const std::string protocol = absl::GetFlag(FLAGS_protocol);
  if (protocol != "http" && protocol != "echo") {
    return Fail("--protocol must be http or echo, got " + protocol);
  }
  const int reactors = absl::GetFlag(FLAGS_reactors);
  ReactorConfig config;
  config.queue_entries = static_cast<unsigned>(absl::GetFlag(FLAGS_queue_entries));
  config.address = absl::GetFlag(FLAGS_address);
  config.port = static_cast<uint16_t>(absl::GetFlag(FLAGS_port));
  if (!ParseWait(absl::GetFlag(FLAGS_wait), &config.wait)) {
    return Fail("--wait must be submit_and_wait, submit_then_wait or busy_poll");
  }
  config.ring_idle_ms = static_cast<uint32_t>(absl::GetFlag(FLAGS_ring_idle_ms));
  config.output_high_water = static_cast<size_t>(absl::GetFlag(FLAGS_output_high_water));
  config.max_connections = static_cast<size_t>(absl::GetFlag(FLAGS_max_connections));

  absl::StatusOr<FdBudget> fds = RaiseFdLimit(ReservedDescriptors(reactors));
  if (!fds.ok()) return Fail(std::string(fds.status().message()));
  const uint64_t asked_total = static_cast<uint64_t>(std::min(
      absl::GetFlag(FLAGS_max_connections_total),
      absl::GetFlag(FLAGS_max_connections) * reactors));
  const uint64_t max_total = std::min(asked_total, fds->connections);
  // What the server will actually hold, and which limit says so.
  std::fprintf(stderr, "ringside: up to %lu connections (%s)\n",
               static_cast<unsigned long>(max_total),
               max_total < asked_total
                   ? absl::StrCat("RLIMIT_NOFILE is ", fds->soft_limit,
                                  "; raise it with ulimit -n or LimitNOFILE= to hold more")
                         .c_str()
                   : "--max_connections_total, --max_connections x --reactors");
  ConnectionLimit total_connections(max_total);
  config.total_connections = &total_connections;
  config.idle_timeout_ms = static_cast<uint32_t>(absl::GetFlag(FLAGS_idle_timeout_ms));
  const int header_timeout_ms = absl::GetFlag(FLAGS_header_timeout_ms);
  // Both were validated by FlagErrors.
  ParseProxyVersions(absl::GetFlag(FLAGS_proxy_protocol), &config.proxy_versions);
  config.proxy_trusted = *TrustedNetworks::Parse(absl::GetFlag(FLAGS_proxy_trusted_networks));
  config.proxy_header_timeout_ms = static_cast<uint32_t>(header_timeout_ms);
  const int body_timeout_ms = absl::GetFlag(FLAGS_body_timeout_ms);
  const int body_min_rate = absl::GetFlag(FLAGS_body_min_rate);
  config.send_timeout_ms = static_cast<uint32_t>(absl::GetFlag(FLAGS_send_timeout_ms));
  config.output_pool_blocks =
      static_cast<size_t>(absl::GetFlag(FLAGS_output_pool_mb) * kMiB) / config.output_block_size;
  config.shutdown_timeout_ms = static_cast<uint32_t>(absl::GetFlag(FLAGS_shutdown_timeout_ms));
  config.buffers.incremental = absl::GetFlag(FLAGS_incremental);
  config.buffers.simulate_incremental_unsupported =
      absl::GetFlag(FLAGS_force_incremental_fallback);
  config.buffers.buffer_size = static_cast<uint32_t>(absl::GetFlag(FLAGS_buffer_size));
  config.buffers.shared_entries = static_cast<uint32_t>(absl::GetFlag(FLAGS_ring_entries));
  config.buffers.connection_entries =
      static_cast<uint32_t>(absl::GetFlag(FLAGS_conn_ring_entries));
  config.buffers.budget_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_buffer_budget_mb) * kMiB);

  std::string admin_token;
  if (std::string error; !AdminToken(&admin_token, &error)) return Fail(error);

  const int trim_interval_ms = absl::GetFlag(FLAGS_heap_trim_interval_ms);
  // Before the reactors start, so every block they allocate is under the same policy.
  HeapTrimmer heap_trimmer({});

  net::HttpLimits limits;
  limits.max_body = static_cast<size_t>(absl::GetFlag(FLAGS_max_body));
  limits.max_request_line = static_cast<size_t>(absl::GetFlag(FLAGS_max_request_line));
  limits.max_header_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_header_bytes));
  limits.max_chunk_overhead = static_cast<size_t>(absl::GetFlag(FLAGS_max_chunk_overhead));
  config.input_high_water = static_cast<size_t>(absl::GetFlag(FLAGS_input_high_water));
  // Worker mode hands whole requests to the workers, so a whole request must fit.
  if (protocol == "http" && absl::GetFlag(FLAGS_handler_threads) > 0) {
    config.input_high_water = std::max(config.input_high_water,
                                       http::HttpHandler::MaxBatchedRequestBytes(limits));
  }

  ReactorGroup::BlockStopSignals();

  std::unique_ptr<http::WorkerPool> workers;
  if (const int n = absl::GetFlag(FLAGS_handler_threads); n > 0) {
    workers = std::make_unique<http::WorkerPool>(static_cast<size_t>(n));
  }
  std::vector<std::unique_ptr<http::HttpApp>> apps;
  std::vector<std::unique_ptr<http::HttpHandler::Settings>> handler_settings;
  ReactorGroup group(
      {.reactor = config,
       .reactors = static_cast<uint32_t>(reactors),
       .exclusive_port = !absl::GetFlag(FLAGS_reuse_port)},
      [&](uint32_t) -> HandlerFactory {
        if (protocol == "echo") return [] { return std::make_unique<EchoHandler>(); };
        apps.push_back(std::make_unique<http::HttpApp>());
        handler_settings.push_back(std::make_unique<http::HttpHandler::Settings>(
            http::HttpHandler::Settings{
                .app = apps.back().get(),
                .limits = limits,
                .workers = workers.get(),
                .header_timeout_ms = static_cast<uint32_t>(header_timeout_ms),
                .body_timeout_ms = static_cast<uint32_t>(body_timeout_ms),
                .body_min_rate = static_cast<uint32_t>(body_min_rate)}));
        return [settings = handler_settings.back().get()] {
          return std::make_unique<http::HttpHandler>(settings);
        };
      });
  if (absl::Status status = group.Start(); !status.ok()) {
    return Fail(std::string(status.message()));
  }
  if (workers != nullptr) {
    // A reactor woken by a completion must not preempt a worker in the middle of a drain:
    // as a batch-policy thread it waits for the worker to finish, and meanwhile more
    // completions gather, so each hand-off carries more batches. Measured (pipelined-16,
    // 64 connections, gcannon, one core): 1.20-1.27 -> 0.83-0.97 us of server CPU per request.
    for (Reactor* reactor : group.reactors()) {
      reactor->Post([] {
        const sched_param param{};
        if (sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
          std::perror("ringside: sched_setscheduler(SCHED_BATCH) for a reactor");
        }
      });
    }
  }
  const Reactor& first = *group.reactors().front();
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
    absl::StatusOr<std::unique_ptr<admin::AdminServer>> started = admin::AdminServer::Start(
        {.address = admin_address,
         .token = admin_token,
         .insecure_public = absl::GetFlag(FLAGS_admin_insecure_public),
         .max_connections = static_cast<size_t>(absl::GetFlag(FLAGS_admin_max_connections)),
         .max_watches = static_cast<size_t>(absl::GetFlag(FLAGS_admin_max_watches))},
        group.reactors(), ServerConfiguration());
    if (!started.ok()) return Fail(std::string(started.status().message()));
    admin_server = std::move(*started);
    std::printf("listening on %s (admin)\n", admin_server->address().c_str());
  }
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (const std::string metrics_address = absl::GetFlag(FLAGS_metrics_address);
      !metrics_address.empty()) {
    absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> started =
        metrics::MetricsServer::Start(
            {.address = metrics_address,
             .insecure_public = absl::GetFlag(FLAGS_metrics_insecure_public),
             .max_connections =
                 static_cast<size_t>(absl::GetFlag(FLAGS_metrics_max_connections))},
            group.reactors(),
            {.mode = first.incremental() ? "incremental" : "shared",
             .kernel_features = first.features(),
             .fallback_reason = first.fallback_reason()});
    if (!started.ok()) return Fail(std::string(started.status().message()));
    metrics_server = std::move(*started);
    std::printf("listening on %s (metrics)\n", metrics_server->address().c_str());
  }
  std::fflush(stdout);

  // This thread has nothing else to do while it waits for a signal, so it keeps the heap.
  const int signal_number = ReactorGroup::WaitForStopSignal(
      std::chrono::milliseconds(trim_interval_ms), [&] { heap_trimmer.MaybeTrim(); });
  std::fprintf(stderr, "ringside: signal %d, finishing in-flight work (a second one exits at once)\n",
               signal_number);
  // The admin and metrics servers stop first: a reactor that has ended only repeats its
  // last snapshot.
  if (admin_server) admin_server->Shutdown();
  if (metrics_server) metrics_server->Shutdown();
  if (absl::Status stopped = group.Stop(); !stopped.ok()) {
    return Fail(std::string(stopped.message()));
  }
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
