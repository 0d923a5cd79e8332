// echo_handler.h: the TCP echo protocol — every byte received is sent back, in order.
//
//   Reactor reactor(config, [] { return std::make_unique<EchoHandler>(); });
//
// Thread-safety: one handler per connection, called on its reactor thread.
#ifndef RINGSIDE_SERVICES_ECHO_ECHO_HANDLER_H_
#define RINGSIDE_SERVICES_ECHO_ECHO_HANDLER_H_

#include "reactor/connection_handler.h"

namespace ringside {

class EchoHandler final : public ConnectionHandler {
 public:
  void OnInput(ConnectionIo& io) override {
    const std::string_view bytes = io.input().pending();
    io.output().append(bytes.data(), bytes.size());
    io.input().Consume(bytes.size());
  }
};

}  // namespace ringside

#endif  // RINGSIDE_SERVICES_ECHO_ECHO_HANDLER_H_
