// load_connection.h: client connections for load tests against the real server — each
// non-blocking, sending its queued requests in writes of random sizes (so the server sees
// requests cut at arbitrary points) and checking every byte it receives — and a small
// epoll set to drive many of them from one thread.
//
//   Poller poller;
//   std::unique_ptr<LoadConnection> c = LoadConnection::Connect(port);
//   c->Queue(RandomExchange(rng, {}));
//   poller.Add(c->fd(), /*token=*/7, c->wants_write());
//   for (const Poller::Event& e : poller.Wait(100ms)) { ... c->WriteFragment(rng) ...
//                                                      ... c->Read() ... }
//
// Thread-compatible; test-only.
#ifndef RINGSIDE_TESTS_SOAK_LOAD_CONNECTION_H_
#define RINGSIDE_TESTS_SOAK_LOAD_CONNECTION_H_

#include <netinet/in.h>
#include <sys/epoll.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ringside/tests/soak/http_exchange.h"

namespace ringside::soak {

class LoadConnection {
 public:
  enum class Io {
    kOk,        // progress, or nothing to do right now
    kEof,       // the server closed its side
    kReset,     // the connection failed (reset, or a write after the server closed)
    kMismatch,  // a received byte differs from the expected response; see checker()
  };

  // Connects to 127.0.0.1:port; nullptr (errno set) if that fails. A non-zero
  // `receive_buffer` sets SO_RCVBUF first, for a client whose window fills quickly.
  // `source` (host order, any of 127.0.0.0/8) is the local address: past about 14,000
  // connections from one address each connect() took 1.7 ms instead of 50 us (the kernel
  // gives connect() the even half of the port range first, then searches for the rest), so
  // tests with more spread them over several.
  static std::unique_ptr<LoadConnection> Connect(uint16_t port, int receive_buffer = 0,
                                                 uint32_t source = INADDR_LOOPBACK);
  ~LoadConnection();
  LoadConnection(const LoadConnection&) = delete;
  LoadConnection& operator=(const LoadConnection&) = delete;

  int fd() const { return fd_; }

  // Queues the request for sending and its response for checking.
  void Queue(Exchange exchange);
  bool wants_write() const { return sent_ < outbox_.size(); }
  uint64_t bytes_sent() const { return bytes_sent_; }

  // One write of a random size (from 1 byte to 64 KiB, mostly small) of the unsent bytes.
  Io WriteFragment(std::mt19937_64& rng);
  // Reads what has arrived, at most `max_bytes`, and checks it.
  Io Read(size_t max_bytes = std::numeric_limits<size_t>::max());
  // Closes with SO_LINGER 0, so the server sees a reset instead of an orderly close.
  void Abort();

  const ResponseChecker& checker() const { return checker_; }

 private:
  explicit LoadConnection(int fd) : fd_(fd) {}

  int fd_;
  std::string outbox_;
  size_t sent_ = 0;  // bytes of outbox_ already written
  uint64_t bytes_sent_ = 0;
  ResponseChecker checker_;
};

// Level-triggered epoll over connections, each named by a caller-chosen token.
class Poller {
 public:
  struct Event {
    uint64_t token;
    bool readable;  // also set on hang-up and error, so a read reports them
    bool writable;
  };

  Poller();
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  void Add(int fd, uint64_t token, bool want_write);
  // Changes whether `fd` is watched for writability.
  void Update(int fd, uint64_t token, bool want_write);
  void Remove(int fd);
  // The events that are ready within `timeout` (none when it passes first).
  const std::vector<Event>& Wait(std::chrono::milliseconds timeout);

 private:
  void Control(int op, int fd, uint64_t token, bool want_write);

  int epoll_fd_;
  std::vector<epoll_event> raw_;  // room for one epoll_wait's events
  std::vector<Event> events_;
};

}  // namespace ringside::soak

#endif  // RINGSIDE_TESTS_SOAK_LOAD_CONNECTION_H_
