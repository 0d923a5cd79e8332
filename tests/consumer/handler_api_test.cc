// The handler API alone: a protocol written against connection_handler.h sees neither
// liburing nor the buffer manager, and compiles warning-free with -Wextra -Wshadow.
#include "ringside/reactor/connection_handler.h"

#include <memory>

#ifdef LIB_URING_H
#error "connection_handler.h pulled in <liburing.h>"
#endif

class Echo final : public ringside::ConnectionHandler {
 public:
  void OnInput(ringside::ConnectionIo& io) override {
    io.output().AppendLease(io.input().Lend(io.input().size()));
  }
  void OnClose() override { closed_ = true; }

 private:
  bool closed_ = false;
};

int main() {
  std::unique_ptr<ringside::ConnectionHandler> handler = std::make_unique<Echo>();
  handler->OnClose();
  return 0;
}
