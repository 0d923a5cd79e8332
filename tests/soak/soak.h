// soak.h: connection churn against the real server binary, checking every response byte,
// then checking that the server gave back what the churn took (DESIGN.md invariants 1, 6, 8;
// issue 7, item 5).
//
// One thread drives `concurrency` connections through an epoll set. Each connection runs a
// random number of rounds; a round pipelines 1..32 random requests (see http_exchange.h),
// written in random-sized fragments while responses are read and checked. A connection ends
// in one of three ways: gracefully (its last request says "Connection: close" and the
// server must close after answering it), by the client closing after its last response, or
// by a reset (SO_LINGER 0) in the middle of a request or of a response — those responses
// are not checked, but the server must carry on. A closed connection is replaced at once.
//
// RunSoak starts the server, runs a warm-up churn, waits until the server is quiet and its
// RSS has stopped falling (it trims its heap once a second) and takes its figures as the
// baseline (pooled rings and allocator caches stay, so a fresh process is the wrong
// reference), runs the measured churn, waits again, and compares: open fds must
// be back exactly, RSS within a tolerance (not under ASan, whose quarantine keeps freed
// memory on purpose), and — when the server serves the admin gRPC
// service — no connection left, no bgid held but by a pooled ring, and no more pooled rings
// than the pools' cap. Last, SIGTERM must end the server with status 0.
//
// Thread-compatible; test-only.
#ifndef RINGSIDE_TESTS_SOAK_SOAK_H_
#define RINGSIDE_TESTS_SOAK_SOAK_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ringside/tests/soak/admin_figures.h"

namespace ringside::soak {

struct SoakOptions {
  std::string server_binary;
  bool incremental = true;
  std::chrono::seconds duration{30};  // the measured churn
  std::chrono::seconds warmup{5};
  int concurrency = 200;              // connections open at any time
  int reactors = 2;
  uint32_t ring_idle_ms = 200;        // the server's --ring_idle_ms, kept short
  uint64_t seed = 1;
  // RSS may end this much above the post-warm-up baseline: the server trims its heap only
  // when over 2 MiB is free, and which chunks stay in use is not exact.
  int64_t rss_tolerance_kb = 4096;
};

// What the server holds, seen from outside.
struct ServerFigures {
  int64_t rss_kb = -1;
  int fds = -1;
  std::optional<AdminFigures> admin;  // only when the admin service answers
};

struct ChurnCounts {
  uint64_t connections = 0;
  uint64_t graceful_closes = 0;  // "Connection: close", then the server's EOF
  uint64_t client_closes = 0;
  uint64_t resets = 0;           // SO_LINGER 0 mid-request or mid-response
  uint64_t requests_sent = 0;
  uint64_t responses_checked = 0;  // complete and byte-for-byte as expected
  uint64_t bytes_sent = 0;
  uint64_t bytes_checked = 0;
};

struct SoakReport {
  std::string mode;  // "incremental" or "shared"
  double seconds = 0;
  ChurnCounts warmup;
  ChurnCounts churn;
  ServerFigures fresh;     // right after start-up
  ServerFigures baseline;  // after the warm-up, once quiet
  ServerFigures end;       // after the churn, once quiet
  std::string rss_note;    // why the RSS check was skipped, if it was
  std::string admin_note;  // why the admin checks were skipped, if they were
  std::optional<int> exit_status;  // waitpid status after SIGTERM
  std::vector<std::string> failures;  // empty when the soak passed
};

SoakReport RunSoak(const SoakOptions& options);

// The report as the lines `soak` prints.
std::string FormatReport(const SoakReport& report);

}  // namespace ringside::soak

#endif  // RINGSIDE_TESTS_SOAK_SOAK_H_
