// echo_handler.h: the TCP echo protocol — every byte received is sent back, in order.
//
//   Reactor reactor(config, [] { return std::make_unique<EchoHandler>(); });
//
// Thread-safety: one handler per connection, called on its reactor thread.
#ifndef RINGSIDE_SERVICES_ECHO_ECHO_HANDLER_H_
#define RINGSIDE_SERVICES_ECHO_ECHO_HANDLER_H_

#include "ringside/reactor/connection_handler.h"

namespace ringside {

class EchoHandler final : public ConnectionHandler {
 public:
  void OnInput(ConnectionIo& io) override {
    // The received bytes go back out by reference: no copy in incremental mode.
    io.output().AppendLease(io.input().Lend(io.input().size()));
  }
};

}  // namespace ringside

#endif  // RINGSIDE_SERVICES_ECHO_ECHO_HANDLER_H_
