// connection_handler.h: the protocol side of a connection, driven by its Reactor.
//
// A protocol implements ConnectionHandler; the reactor creates one per accepted connection
// through a HandlerFactory and calls OnInput() on its thread whenever new bytes arrived.
// Input is lent, output is a chain: the handler reads io.input() in place (views into the
// receive buffers), Consume()s what it is done with, Lend()s what it wants to keep, and
// appends its answer to io.output() — bytes it formats (copied into pooled blocks), leases
// (sent in place), static or shared fragments (by reference).
//
//   // A line protocol: "GET\n" answers "OK\n"; any other line is echoed back as it came,
//   // without a copy; "SLOW\n" is answered later, from another thread.
//   class LineHandler final : public ringside::ConnectionHandler {
//    public:
//     explicit LineHandler(Pool* pool) : pool_(pool) {}
//     void OnInput(ringside::ConnectionIo& io) override {
//       for (;;) {
//         const std::string_view pending = io.input().pending();
//         const size_t end = pending.find('\n');
//         if (end == std::string_view::npos) return;  // wait for the rest of the line
//         if (pending.substr(0, end + 1) == "GET\n") {
//           io.output().AppendStatic("OK\n");          // by reference: static bytes
//           io.input().Consume(end + 1);
//         } else if (pending.substr(0, end + 1) == "SLOW\n") {
//           io.input().Consume(end + 1);
//           io.PauseInput();                            // answers stay in order
//           pool_->Run([handle = io.handle()] {         // any thread
//             std::string answer = Compute();
//             handle.reactor->PostToConnection(handle, [answer](ringside::ConnectionIo& c) {
//               c.output().AppendOrSpill(answer);       // copied into the output blocks
//               c.ResumeInput();                        // OnInput runs again on the rest
//             });
//           });
//           return;
//         } else {
//           // The line's own receive buffer goes back out; it returns to the kernel once
//           // sent. A lease may also go to another thread and be released there.
//           io.output().AppendLease(io.input().Lend(end + 1));
//         }
//       }
//     }
//    private:
//     Pool* pool_;
//   };
//
// Lifetime rules.
//  - io.input().pending() is valid during the call that got it, until the handler calls
//    Consume() or Lend() on the stream. Bytes the handler keeps must be Lend()t: a
//    BufferLease stays valid until it is released (destroyed or Reset()), on any thread,
//    even after the connection closed; it must be released before the Reactor is
//    destroyed. BufferLease::Share() (a second view) runs on the reactor thread only.
//  - Holding leases holds ring buffers: in incremental mode a connection whose handler
//    holds every buffer of its ring stops receiving until one is released. A handler that
//    keeps long inputs asks io.can_hold_input() and copies when it says no.
//  - Output fragments are sent in order; a lease in the output is released once its bytes
//    are sent. Static fragments must outlive the connection.
//  - io is valid during the call only. To reach the connection later, keep io.handle() and
//    call Reactor::PostToConnection(): the task runs on the reactor thread with the
//    connection's io, or not at all if it has closed (a handle never names a newer
//    connection in the same slot).
//  - The reactor stops receiving for a connection that holds more than the input
//    high-water mark of unconsumed bytes, or has more than the output high-water mark
//    unsent, and for one that paused its input once what arrives would need copying (it
//    keeps a paused receive armed while the bytes stay in one buffer of the connection's
//    own ring, or, on the shared ring, until the first bytes arrive); a handler must be
//    able to make progress with input_high_water bytes.
//
// Thread-safety: every method of ConnectionHandler and ConnectionIo is called on the
// reactor thread that owns the connection (OnInput, OnTimeout and OnClose never run at
// once). Leases the handler lent may be released on any
// thread; Reactor::PostToConnection() may be called from any thread.
#ifndef RINGSIDE_REACTOR_CONNECTION_HANDLER_H_
#define RINGSIDE_REACTOR_CONNECTION_HANDLER_H_

#include "ringside/base/cxx20.h"  // first: below C++20, one clear error

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ringside/reactor/input_stream.h"
#include "ringside/reactor/output_chain.h"

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
  // The timer that fired was a request body's (counted in the reactor's body_timeouts,
  // besides handler_timeouts).
  virtual void CountBodyTimeout() = 0;
  // Calls the handler's OnTimeout() once `ms` have passed, unless cancelled or re-armed
  // first (re-arming replaces the deadline, earlier or later). It fires on the reactor's
  // first loop iteration at or after the deadline rounded up to the reactor's timer tick
  // (8 ms: deadlines of a tick share one wake-up). Timers do not fire while input is
  // paused (the handler's own work is then in flight): one that came due meanwhile fires
  // once input resumes. Arming and cancelling cost O(1).
  virtual void ArmTimer(uint32_t ms) = 0;
  virtual void CancelTimer() = 0;
  virtual ConnectionHandle handle() = 0;
  // The client's address, "127.0.0.1:5000" or "[::1]:5000": the socket's peer, or the
  // address a protocol layer learned for it (a PROXY header); "" if the socket has none.
  // Looked up on first use; the reference is valid during the call.
  virtual const std::string& peer_address() = 0;

 protected:
  ~ConnectionIo() = default;
};

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  virtual void OnInput(ConnectionIo& io) = 0;
  // The timer armed with ConnectionIo::ArmTimer() expired.
  virtual void OnTimeout(ConnectionIo& /*io*/) {}
  // The connection is closing (the client left, an error, a timeout, CloseAfterFlush done,
  // or the reactor stopped): called once, the last call before the handler is destroyed.
  // Its io is gone; work it started elsewhere finds the handle closed.
  virtual void OnClose() {}
};

using HandlerFactory = std::function<std::unique_ptr<ConnectionHandler>()>;

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_CONNECTION_HANDLER_H_
