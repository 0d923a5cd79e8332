// connection_handler.h: the protocol side of a connection, driven by its Reactor.
//
// A protocol implements ConnectionHandler; the reactor creates one per accepted connection
// through a HandlerFactory and calls OnInput() on its thread whenever new bytes arrived.
// The handler reads io.input() in place (zero-copy views into the receive buffers),
// Consume()s what it processed, and appends responses to io.output(). To answer from another
// thread, it takes io.handle() and later calls Reactor::Post() with a task that receives the
// connection's ConnectionIo again (or nothing, if the connection has closed meanwhile).
//
// Thread-safety: every method is called on the reactor thread that owns the connection.
#ifndef RINGSIDE_REACTOR_CONNECTION_HANDLER_H_
#define RINGSIDE_REACTOR_CONNECTION_HANDLER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "buffers/buffer_manager.h"
#include "reactor/input_stream.h"
#include "reactor/output_chain.h"

namespace ringside {

class Reactor;

// Names one connection of one reactor for the life of the process; a handle whose
// connection has closed never matches a newer one in the same slot.
struct ConnectionHandle {
  Reactor* reactor = nullptr;
  uint32_t slot = 0;
  uint32_t generation = 0;
  uint64_t connection_id = 0;
};

class ConnectionIo {
 public:
  virtual InputStream& input() = 0;
  virtual OutputChain& output() = 0;
  // Whether the handler may keep more received bytes as leases (Lend) without starving the
  // connection's receive: in incremental mode, while at most half of its ring's buffers are
  // held; a handler keeping a long body copies beyond that. Always true in shared mode,
  // where InputStream lends copies.
  virtual bool can_hold_input() = 0;
  // Sends what output() holds, then closes. Input that arrives afterwards is ignored.
  virtual void CloseAfterFlush() = 0;
  // Stops handing input to the handler until ResumeInput() (e.g. work is in flight elsewhere).
  virtual void PauseInput() = 0;
  virtual void ResumeInput() = 0;
  virtual void CountRequest() = 0;
  // A request refused by a protocol rule or limit (counted in the reactor's stats).
  virtual void CountRejectedRequest() = 0;
  // Calls the handler's OnTimeout() once `ms` have passed, unless cancelled or re-armed
  // first; the reactor checks timers on its sweep, so they fire up to ~1/4 of `ms` late.
  // Timers do not fire while input is paused: the handler's own work is then in flight.
  virtual void ArmTimer(uint32_t ms) = 0;
  virtual void CancelTimer() = 0;
  virtual ConnectionHandle handle() = 0;

 protected:
  ~ConnectionIo() = default;
};

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  virtual void OnInput(ConnectionIo& io) = 0;
  // The timer armed with ConnectionIo::ArmTimer() expired.
  virtual void OnTimeout(ConnectionIo& io) {}
};

using HandlerFactory = std::function<std::unique_ptr<ConnectionHandler>()>;

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_CONNECTION_HANDLER_H_
