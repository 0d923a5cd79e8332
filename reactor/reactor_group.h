// reactor_group.h: N reactors serving one port, stopped gracefully on SIGINT or SIGTERM.
//
// Each reactor is a thread with its own io_uring and its own listening socket on the same
// address and port (SO_REUSEPORT: the kernel spreads connections, no hand-off between
// threads). The group starts them all or none, and stops them all: each finishes the
// output it has in flight and closes its connections (reactor.h, "How long Stop() takes"),
// within ReactorConfig::shutdown_timeout_ms.
//
//   int main() {
//     ringside::ReactorGroup::BlockStopSignals();   // first, before any thread starts
//     ringside::ReactorGroupConfig config;
//     config.reactors = 4;
//     config.reactor.port = 8080;
//     ringside::ReactorGroup group(config, [](uint32_t /*reactor_id*/) -> ringside::HandlerFactory {
//       return [] { return std::make_unique<MyHandler>(); };
//     });
//     if (absl::Status s = group.Start(); !s.ok()) return Fail(s);
//     ringside::ReactorGroup::WaitForStopSignal();  // a second signal exits at once
//     return group.Stop().ok() ? 0 : 1;
//   }
//
// Lifecycle. Start() once; Stop() after a successful Start(), as often as wanted (the
// calls after the first return OK at once). Misuse returns FailedPrecondition and changes
// nothing: Start() twice or after Stop(), Stop() before Start(). The destructor stops.
//
// Thread-safety: every method may be called from any thread (they serialise on a mutex;
// Stop() blocks until the reactors have ended, so not from a reactor thread). The
// reactors()' own methods follow reactor.h.
#ifndef RINGSIDE_REACTOR_REACTOR_GROUP_H_
#define RINGSIDE_REACTOR_REACTOR_GROUP_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "ringside/reactor/connection_handler.h"
#include "ringside/reactor/reactor.h"

namespace ringside {

struct ReactorGroupConfig {
  // For every reactor; the group sets id (0..reactors-1), exclusive_port and, after the
  // first reactor picked one for port 0, port.
  ReactorConfig reactor;
  uint32_t reactors = 1;
  // On: Start() fails (Unavailable) if anything already holds the address and port. Off:
  // other processes of the same user may listen on it too and take a share of the
  // connections (SO_REUSEPORT across processes).
  bool exclusive_port = true;
};

class ReactorGroup {
 public:
  // The HandlerFactory of reactor `reactor_id`, asked once per reactor in Start().
  using Handlers = std::function<HandlerFactory(uint32_t reactor_id)>;

  ReactorGroup(const ReactorGroupConfig& config, Handlers handlers);
  ~ReactorGroup();
  ReactorGroup(const ReactorGroup&) = delete;
  ReactorGroup& operator=(const ReactorGroup&) = delete;

  // Starts every reactor, or none: if one fails, those started are stopped and its error
  // is returned. InvalidArgument for 0 reactors.
  absl::Status Start();
  // Stops every reactor and waits for them (reactor.h, "How long Stop() takes").
  absl::Status Stop();

  // Valid after Start() returned OK.
  uint16_t port() const;
  std::vector<Reactor*> reactors() const;

  // Blocks SIGINT and SIGTERM in the calling thread, so that every thread started after it
  // inherits the mask and WaitForStopSignal() takes them, and ignores SIGPIPE (a write to
  // a closed pipe must not end the server). Call it first in main().
  static void BlockStopSignals();
  // Waits for SIGINT or SIGTERM (blocked by BlockStopSignals) and returns its number.
  // While it waits, calls `every_interval` every `interval` if both are given. From then
  // on a second SIGINT or SIGTERM ends the process at once, by that signal, so that an
  // operator can cut a stop that takes too long.
  static int WaitForStopSignal(std::chrono::milliseconds interval = std::chrono::milliseconds(0),
                               const std::function<void()>& every_interval = nullptr);

 private:
  enum class State { kNew, kRunning, kStopped };

  void StopLocked();

  const ReactorGroupConfig config_;
  const Handlers handlers_;
  mutable std::mutex mu_;
  State state_ = State::kNew;                      // guarded by mu_
  std::vector<std::unique_ptr<Reactor>> reactors_;  // guarded by mu_
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_REACTOR_GROUP_H_
