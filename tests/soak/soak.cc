#include "ringside/tests/soak/soak.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringside/buffers/buffer_manager.h"
#include "ringside/reactor/test_client.h"
#include "ringside/tests/soak/http_exchange.h"
#include "ringside/tests/soak/load_connection.h"
#include "ringside/tests/soak/server_process.h"

namespace ringside::soak {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using testing::WaitFor;

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
// A connection that makes no progress this long is reported as stalled. Generous: under
// ASan the server is several times slower, and one round can carry 32 x 64 KiB each way.
constexpr auto kStallLimit = std::chrono::seconds(30);
// After the churn's time is up, open connections finish their plans within this.
constexpr auto kDrainLimit = std::chrono::seconds(60);

enum class Ending { kGraceful, kClientClose, kReset };

struct Client {
  std::unique_ptr<LoadConnection> conn;
  uint64_t id = 0;
  Ending ending = Ending::kClientClose;
  int rounds_left = 0;
  // Reset plan, for the last round of a kReset client: abort once this many bytes were
  // written, or once this many response bytes were checked.
  uint64_t reset_after_sent = kNever;
  uint64_t reset_after_checked = kNever;
  bool want_write = false;  // as registered with the poller
  Clock::time_point last_progress;
};

// Drives the churn; one instance per phase (warm-up, measured run).
class Churn {
 public:
  Churn(uint16_t port, int concurrency, uint64_t seed)
      : port_(port), concurrency_(concurrency), rng_(seed) {}

  // Churns until `duration` passed, then lets the open connections finish. False with
  // `failure` set at the first wrong byte, unexpected close, stall or refused connect.
  bool Run(Clock::duration duration, ChurnCounts* counts, std::string* failure) {
    counts_ = counts;
    failure_ = failure;
    clients_.resize(static_cast<size_t>(concurrency_));
    const Clock::time_point stop_opening = Clock::now() + duration;
    for (size_t slot = 0; slot < clients_.size(); ++slot) {
      if (!Open(slot)) return false;
    }
    Clock::time_point drain_deadline = Clock::time_point::max();
    Clock::time_point next_stall_check = Clock::now() + std::chrono::seconds(1);
    while (open_ > 0) {
      const Clock::time_point now = Clock::now();
      if (opening_ && now >= stop_opening) {
        opening_ = false;
        drain_deadline = now + kDrainLimit;
      }
      if (now >= drain_deadline) return Fail(absl::StrCat(open_, " connection(s) still open ",
                                                          "after the churn's drain limit"));
      if (now >= next_stall_check) {
        next_stall_check = now + std::chrono::seconds(1);
        for (const Client& c : clients_) {
          if (c.conn != nullptr && now - c.last_progress > kStallLimit) {
            return Fail(Describe(c, "stalled: no bytes in either direction for 30 s"));
          }
        }
      }
      for (const Poller::Event& e : poller_.Wait(milliseconds(100))) {
        if (!Step(e)) return false;
      }
      // Slots emptied by this batch are refilled only now, so no event of the batch can
      // reach a connection it was not about.
      for (size_t slot : emptied_) {
        if (opening_ && !Open(slot)) return false;
      }
      emptied_.clear();
    }
    return true;
  }

 private:
  bool Open(size_t slot) {
    Client& c = clients_[slot];
    c = Client();
    c.conn = LoadConnection::Connect(port_);
    if (c.conn == nullptr) return Fail(absl::StrCat("connect: ", std::strerror(errno)));
    c.id = ++counts_->connections;
    const uint64_t pick = Uniform(0, 9);
    c.ending = pick < 4 ? Ending::kClientClose : pick < 7 ? Ending::kGraceful : Ending::kReset;
    c.rounds_left = static_cast<int>(Uniform(1, 8));
    c.last_progress = Clock::now();
    ++open_;
    StartRound(c);
    c.want_write = c.conn->wants_write();
    poller_.Add(c.conn->fd(), slot, c.want_write);
    return true;
  }

  void StartRound(Client& c) {
    --c.rounds_left;
    const bool last = c.rounds_left == 0;
    const int depth = static_cast<int>(Uniform(1, 32));
    uint64_t request_bytes = 0;
    uint64_t response_bytes = 0;
    for (int i = 0; i < depth; ++i) {
      const bool close = last && i == depth - 1 && c.ending == Ending::kGraceful;
      Exchange e = RandomExchange(rng_, {.close = close});
      request_bytes += e.request.size();
      response_bytes += e.response.bytes.size();
      c.conn->Queue(std::move(e));
      ++counts_->requests_sent;
    }
    if (last && c.ending == Ending::kReset) {
      if (Uniform(0, 1) == 0) {
        c.reset_after_sent = c.conn->bytes_sent() + Uniform(0, request_bytes - 1);
      } else {
        c.reset_after_checked = c.conn->checker().bytes_checked() + Uniform(0, response_bytes - 1);
      }
    }
  }

  // Handles one readiness event; false on a failure.
  bool Step(const Poller::Event& e) {
    Client& c = clients_[e.token];
    if (c.conn == nullptr) return true;
    const uint64_t sent_before = c.conn->bytes_sent();
    const uint64_t checked_before = c.conn->checker().bytes_checked();
    if (e.readable) {
      const uint64_t checked = c.conn->checker().bytes_checked();
      const size_t max_read = c.reset_after_checked == kNever
                                  ? std::numeric_limits<size_t>::max()
                                  : static_cast<size_t>(c.reset_after_checked - checked);
      switch (c.conn->Read(max_read)) {
        case LoadConnection::Io::kOk:
          break;
        case LoadConnection::Io::kMismatch:
          return Fail(Describe(c, c.conn->checker().error()));
        case LoadConnection::Io::kEof:
          if (c.ending == Ending::kGraceful && c.rounds_left == 0 &&
              c.conn->checker().outstanding() == 0) {
            ++counts_->graceful_closes;
            return Finish(e.token);
          }
          return Fail(Describe(c, "the server closed the connection"));
        case LoadConnection::Io::kReset:
          return Fail(Describe(c, "the connection was reset while reading"));
      }
    }
    if (e.writable && c.conn->WriteFragment(rng_) == LoadConnection::Io::kReset) {
      return Fail(Describe(c, "the connection was reset while writing"));
    }
    if (c.conn->bytes_sent() >= c.reset_after_sent ||
        c.conn->checker().bytes_checked() >= c.reset_after_checked) {
      c.conn->Abort();
      ++counts_->resets;
      return Finish(e.token);
    }
    if (c.conn->bytes_sent() != sent_before || c.conn->checker().bytes_checked() != checked_before) {
      c.last_progress = Clock::now();
    }
    if (c.conn->checker().outstanding() == 0 && !c.conn->wants_write()) {
      if (c.rounds_left > 0) {
        StartRound(c);
      } else if (c.ending == Ending::kClientClose) {
        ++counts_->client_closes;
        return Finish(e.token);
      }
      // kGraceful: the server's EOF ends it.
    }
    if (c.want_write != c.conn->wants_write()) {
      c.want_write = c.conn->wants_write();
      poller_.Update(c.conn->fd(), e.token, c.want_write);
    }
    return true;
  }

  bool Finish(size_t slot) {
    Client& c = clients_[slot];
    counts_->responses_checked += c.conn->checker().responses_checked();
    counts_->bytes_checked += c.conn->checker().bytes_checked();
    counts_->bytes_sent += c.conn->bytes_sent();
    // An aborted connection already closed its fd, and closing removed it from epoll.
    if (c.conn->fd() >= 0) poller_.Remove(c.conn->fd());
    c.conn.reset();
    --open_;
    emptied_.push_back(slot);
    return true;
  }

  std::string Describe(const Client& c, const std::string& what) {
    return absl::StrCat("connection ", c.id, " (", c.conn->checker().responses_checked(),
                        " responses checked, ", c.conn->checker().outstanding(),
                        " outstanding, ", c.rounds_left, " rounds left): ", what);
  }

  bool Fail(const std::string& what) {
    *failure_ = what;
    return false;
  }

  uint64_t Uniform(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }

  const uint16_t port_;
  const int concurrency_;
  std::mt19937_64 rng_;
  Poller poller_;
  std::vector<Client> clients_;
  std::vector<size_t> emptied_;
  int open_ = 0;
  bool opening_ = true;
  ChurnCounts* counts_ = nullptr;
  std::string* failure_ = nullptr;
};

ServerFigures Figures(const ServerProcess& server) {
  ServerFigures f;
  f.rss_kb = server.ResidentKb();
  f.fds = server.OpenFds();
  if (!server.admin_address().empty()) {
    if (absl::StatusOr<AdminFigures> admin = ReadAdminFigures(server.admin_address());
        admin.ok()) {
      f.admin = *admin;
    }
  }
  return f;
}

// The server gives freed heap back to the kernel on a timer (--heap_trim_interval_ms, 1 s),
// so a quiet server's RSS falls for a while; it is read once it has not fallen for a few
// of those intervals.
void WaitForSteadyResidentSize(const ServerProcess& server) {
  constexpr auto kSteady = std::chrono::seconds(3);
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  int64_t lowest = server.ResidentKb();
  Clock::time_point lowest_since = Clock::now();
  while (Clock::now() - lowest_since < kSteady && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(100));
    if (const int64_t rss = server.ResidentKb(); rss < lowest) {
      lowest = rss;
      lowest_since = Clock::now();
    }
  }
}

// Bgids not held by a pooled ring: the live rings' (the shared ring's, in shared mode).
uint64_t LiveBgids(const AdminFigures& a) { return a.bgids_in_use - a.pooled_rings; }

std::string FormatFigures(const ServerFigures& f) {
  std::string out = absl::StrFormat("RSS %d KiB, %d fds", f.rss_kb, f.fds);
  if (f.admin) {
    absl::StrAppendFormat(&out, ", %d connections, %d bgids in use, %d pooled rings, "
                          "%d KiB of slabs reserved",
                          f.admin->connections, f.admin->bgids_in_use, f.admin->pooled_rings,
                          f.admin->reserved_bytes / 1024);
  }
  return out;
}

std::string FormatCounts(const ChurnCounts& c) {
  return absl::StrFormat(
      "%d connections (%d graceful, %d client close, %d reset), %d requests sent, "
      "%d responses checked, %d bytes sent, %d bytes checked",
      c.connections, c.graceful_closes, c.client_closes, c.resets, c.requests_sent,
      c.responses_checked, c.bytes_sent, c.bytes_checked);
}

}  // namespace

SoakReport RunSoak(const SoakOptions& options) {
  SoakReport report;
  report.mode = options.incremental ? "incremental" : "shared";
  const Clock::time_point start = Clock::now();
  absl::StatusOr<std::unique_ptr<ServerProcess>> started = ServerProcess::Start(
      options.server_binary,
      {"--address=127.0.0.1", "--port=0", "--protocol=http",
       absl::StrCat("--incremental=", options.incremental ? "true" : "false"),
       absl::StrCat("--reactors=", options.reactors),
       absl::StrCat("--ring_idle_ms=", options.ring_idle_ms),
       // An ephemeral admin port, so parallel servers never collide on the default.
       "--admin_address=127.0.0.1:0"});
  if (!started.ok()) {
    report.failures.push_back(std::string(started.status().message()));
    return report;
  }
  ServerProcess& server = **started;
  report.fresh = Figures(server);
  if (server.admin_address().empty()) {
    report.admin_note =
        "the server printed no `listening on ... (admin)` line (this build has no admin "
        "service): bgid and pooled-ring checks skipped";
  } else if (!report.fresh.admin) {
    report.admin_note = absl::StrCat("the admin service at ", server.admin_address(),
                                     " did not answer GetServerStats: bgid and pooled-ring "
                                     "checks skipped");
  }

  // Quiet: every connection the churn opened is closed on the server's side too, no ring
  // but pooled ones holds a bgid, and the server holds as many fds as when fresh (checked
  // last, so the admin calls' own connections are closed again too).
  const milliseconds quiet_deadline =
      std::max<milliseconds>(std::chrono::seconds(10), milliseconds(20 * options.ring_idle_ms));
  auto wait_quiet = [&](const char* phase) {
    if (report.fresh.admin &&
        !WaitFor([&] {
          absl::StatusOr<AdminFigures> a = ReadAdminFigures(server.admin_address());
          return a.ok() && a->connections == 0 && LiveBgids(*a) == LiveBgids(*report.fresh.admin);
        }, quiet_deadline)) {
      report.failures.push_back(absl::StrCat("after the ", phase,
                                             " the admin service still reports connections "
                                             "or bgids held by live rings"));
    }
    if (!WaitFor([&] { return server.OpenFds() == report.fresh.fds; }, quiet_deadline)) {
      report.failures.push_back(absl::StrCat("after the ", phase, " the server holds ",
                                             server.OpenFds(), " fds, ", report.fresh.fds,
                                             " when fresh"));
    }
  };

  std::string failure;
  if (!Churn(server.port(), options.concurrency, options.seed)
           .Run(options.warmup, &report.warmup, &failure)) {
    report.failures.push_back("warm-up: " + failure);
    return report;
  }
  wait_quiet("warm-up");
  WaitForSteadyResidentSize(server);
  report.baseline = Figures(server);

  if (!Churn(server.port(), options.concurrency, options.seed + 1)
           .Run(options.duration, &report.churn, &failure)) {
    report.failures.push_back("churn: " + failure);
    return report;
  }
  wait_quiet("churn");
  const int64_t rss_limit = report.baseline.rss_kb + options.rss_tolerance_kb;
  if (kSanitizedServer) {
    report.rss_note =
        "ASan build: RSS not compared (its quarantine holds up to 256 MiB of freed memory by "
        "design); leaks are LeakSanitizer's to find when the server exits";
  } else if (!WaitFor([&] { return server.ResidentKb() <= rss_limit; }, quiet_deadline)) {
    report.failures.push_back(absl::StrCat("RSS ", server.ResidentKb(), " KiB, more than the ",
                                           "baseline ", report.baseline.rss_kb, " KiB + ",
                                           options.rss_tolerance_kb, " KiB tolerance"));
  }
  report.end = Figures(server);
  // The pool keeps torn-down rings for reuse up to its cap (the server has no flag for it),
  // so after churn it may hold more than at the baseline, never more than the cap.
  const uint64_t pool_cap =
      BufferManagerConfig().pool_max_rings * static_cast<uint64_t>(options.reactors);
  if (report.end.admin && report.end.admin->pooled_rings > pool_cap) {
    report.failures.push_back(absl::StrCat(report.end.admin->pooled_rings, " pooled rings, ",
                                           "more than the pools' cap of ", pool_cap));
  }

  server.Signal(SIGTERM);
  report.exit_status = server.WaitForExit(std::chrono::seconds(30));
  if (!report.exit_status) {
    report.failures.push_back("the server did not exit within 30 s of SIGTERM");
  } else if (!WIFEXITED(*report.exit_status) || WEXITSTATUS(*report.exit_status) != 0) {
    report.failures.push_back(absl::StrCat("the server ended with wait status ",
                                           *report.exit_status, " after SIGTERM"));
  }
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

std::string FormatReport(const SoakReport& r) {
  std::string out = absl::StrFormat("soak %s: %.1f s\n", r.mode, r.seconds);
  absl::StrAppend(&out, "  warm-up: ", FormatCounts(r.warmup), "\n");
  absl::StrAppend(&out, "  churn:   ", FormatCounts(r.churn), "\n");
  absl::StrAppend(&out, "  server fresh:    ", FormatFigures(r.fresh), "\n");
  absl::StrAppend(&out, "  server baseline: ", FormatFigures(r.baseline), "\n");
  absl::StrAppend(&out, "  server end:      ", FormatFigures(r.end), "\n");
  absl::StrAppendFormat(&out, "  end - baseline:  RSS %+d KiB, fds %+d\n",
                        r.end.rss_kb - r.baseline.rss_kb, r.end.fds - r.baseline.fds);
  if (!r.rss_note.empty()) absl::StrAppend(&out, "  RSS: ", r.rss_note, "\n");
  if (!r.admin_note.empty()) absl::StrAppend(&out, "  admin: ", r.admin_note, "\n");
  if (r.exit_status) {
    absl::StrAppend(&out, "  exit after SIGTERM: ",
                    WIFEXITED(*r.exit_status)
                        ? absl::StrCat("status ", WEXITSTATUS(*r.exit_status))
                        : absl::StrCat("signal ", WTERMSIG(*r.exit_status)),
                    "\n");
  }
  absl::StrAppend(&out, r.failures.empty() ? "  PASS\n" : "  FAIL\n");
  for (const std::string& f : r.failures) absl::StrAppend(&out, "    ", f, "\n");
  return out;
}

}  // namespace ringside::soak
