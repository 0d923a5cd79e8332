// kv_server: a line-protocol key-value server on the reactor.
//
//   SET key value\n  ->  OK\n
//   GET key\n        ->  value\n, or NOT_FOUND\n
//   anything else    ->  ERROR\n
//
// `kv_server PORT` serves on PORT with two reactors until SIGINT or SIGTERM. Without a port
// it serves on a free one, talks to itself over a socket, and exits 0 if the answers are
// right (how the suite runs it).
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "ringside/examples/loopback_client.h"
#include "ringside/reactor/connection_handler.h"
#include "ringside/reactor/reactor_group.h"

// The store, shared by every connection of every reactor.
class Store {
 public:
  void Set(std::string_view key, std::string_view value) {
    std::lock_guard<std::mutex> lock(mu_);
    values_[std::string(key)] = std::string(value);
  }
  bool Get(std::string_view key, std::string* value) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = values_.find(std::string(key));
    if (it == values_.end()) return false;
    *value = it->second;
    return true;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> values_;
};

// One per connection. OnInput gets the unconsumed bytes; every complete line is answered
// and consumed, a partial line waits for the rest.
class KvHandler final : public ringside::ConnectionHandler {
 public:
  explicit KvHandler(Store* store) : store_(store) {}

  void OnInput(ringside::ConnectionIo& io) override {
    for (;;) {
      const std::string_view pending = io.input().pending();
      const size_t end = pending.find('\n');
      if (end == std::string_view::npos) return;
      Answer(pending.substr(0, end), io.output());
      io.input().Consume(end + 1);  // the line's bytes go back to the kernel
    }
  }

 private:
  void Answer(std::string_view line, ringside::OutputChain& out) {
    std::string value;
    if (line.substr(0, 4) == "SET " && line.find(' ', 4) != std::string_view::npos) {
      const size_t space = line.find(' ', 4);
      store_->Set(line.substr(4, space - 4), line.substr(space + 1));
      out.AppendStatic("OK\n");  // a literal goes out by reference
    } else if (line.substr(0, 4) == "GET " && store_->Get(line.substr(4), &value)) {
      out.AppendOrSpill(value);  // copied into the reactor's output blocks
      out.AppendStatic("\n");
    } else if (line.substr(0, 4) == "GET ") {
      out.AppendStatic("NOT_FOUND\n");
    } else {
      out.AppendStatic("ERROR\n");
    }
  }

  Store* store_;
};

// The self-test: one client session against the server.
bool TalkTo(uint16_t port) {
  const std::string expected = "OK\nblue\nNOT_FOUND\nERROR\n";
  const std::string answers = examples::ExchangeOverLoopback(
      port, "SET color blue\nGET color\nGET size\nHELLO\n", expected.size());
  std::printf("%s", answers.c_str());
  return answers == expected;
}

int main(int argc, char** argv) {
  ringside::ReactorGroup::BlockStopSignals();  // before any thread starts
  Store store;
  ringside::ReactorGroupConfig config;
  config.reactors = 2;
  config.reactor.address = "127.0.0.1";
  config.reactor.port = argc > 1 ? static_cast<uint16_t>(std::atoi(argv[1])) : 0;
  ringside::ReactorGroup group(config, [&store](uint32_t) -> ringside::HandlerFactory {
    return [&store] { return std::make_unique<KvHandler>(&store); };
  });
  if (absl::Status status = group.Start(); !status.ok()) {
    std::fprintf(stderr, "kv_server: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  if (argc > 1) {
    std::printf("serving on 127.0.0.1:%u\n", group.port());
    ringside::ReactorGroup::WaitForStopSignal();
    return group.Stop().ok() ? 0 : 1;
  }
  const bool ok = TalkTo(group.port());
  return group.Stop().ok() && ok ? 0 : 1;
}
