// send_bench: what each io_uring way of sending a response costs the sending CPU, over
// loopback TCP, with its own io_uring (no reactor).
//
// The reactor sends a connection's output chain with IORING_OP_SEND when it is one
// contiguous run and IORING_OP_SENDMSG (at most 16 iovecs) otherwise (reactor/send.cc).
// This program asks whether zero-copy sends or send bundles would cost less. A sending
// thread writes responses to TCP connections over 127.0.0.1, one send in flight per
// connection like the reactor, and a receiving thread reads and discards them. Sender CPU
// is the sending thread's CPU time (CLOCK_THREAD_CPUTIME_ID) while it sends. On loopback it
// includes most of the receive path, which the kernel runs in softirq right after the
// transmit, in the sending thread (without IRQ time accounting, softirq time is the
// thread's); data an ACK releases from a full send buffer is transmitted, and received,
// in the receiving thread instead, so the receiver's CPU is printed too ("recv/base").
// CPU the process spent outside both threads (io-wq workers would be there) is printed
// below the table.
//
// Large responses (1 KiB to 1 MiB, one connection, one response queued at a time):
//   send           IORING_OP_SEND from one contiguous buffer (the baseline)
//   sendmsg        IORING_OP_SENDMSG over separate 16 KiB blocks, at most 16 iovecs per call
//                  (the reactor's multi-block chain)
//   sendmsg_64     the same with up to 64 iovecs per call (a whole 1 MiB response)
//   send_zc        IORING_OP_SEND_ZC from one contiguous buffer
//   send_zc_fixed  the same from a registered buffer, which spares pinning pages per send
//   sendmsg_zc     IORING_OP_SENDMSG_ZC over the 16 KiB blocks
//   bundle         the 16 KiB blocks queued in a provided-buffer ring, all sent by one
//                  IORING_OP_SEND with IORING_RECVSEND_BUNDLE (kernel 6.10+)
// Small responses (121-byte HTTP responses, --connections, --batch queued per connection):
//   send_each      one SEND per response (the baseline)
//   send_copied    the batch copied into one buffer, one SEND (what the output chain does:
//                  responses are appended to the same 16 KiB block)
//   sendmsg        one SENDMSG with an iovec per response
//   bundle         one bundle SEND over a ring entry per response
// A zero-copy buffer is queued again only after the notification CQE (IORING_CQE_F_NOTIF)
// of every send that used it; IORING_SEND_ZC_REPORT_USAGE makes each notification say
// whether the kernel copied the data after all ("zc copied" below).
//
//   ./bazelw build -c opt //tools:send_bench && bazel-bin/tools/send_bench --rounds=9
//
// Each round runs every method of a size back to back, in an order rotated per round; the
// table gives medians over rounds, and each ratio is the median of per-round ratios to
// the baseline ("/base") and to what the reactor does ("/reactor": sendmsg for large
// responses, send_copied for small ones), so a busy machine skews both sides alike.
//
// Found (2026-11-29, kernel 6.18, 2 vCPUs shared with other builds at load 4-10, sender on
// CPU 0, receiver on CPU 1, --rounds=9; two more runs agreed). Sender CPU as a multiple of
// SEND's, medians of per-round ratios (single rounds spread about +-30%):
//   response   sendmsg  sendmsg_64  send_zc  send_zc_fixed  sendmsg_zc  bundle  (SEND us/MiB)
//   1 KiB       1.13     1.03       17.3     17.0           16.4        1.14    784
//   16 KiB      1.01     1.05        3.14     3.09           3.23       1.06    290
//   64 KiB      1.02     1.02        0.72     0.72           0.71       1.00    446
//   256 KiB     0.99     0.93        1.13     0.95           1.16       0.95    371
//   1 MiB       1.30     1.00        1.26     1.13           1.41       1.03    293
//   121 B x8 on 64 connections, over send_copied (0.14 us/response): send_each 7.6,
//   sendmsg 1.64, bundle 2.08.
// Every zero-copy notification said "copied": a zero-copy skb that reaches a local socket
// has its pages copied on the way in (skb_orphan_frags_rx() -> skb_copy_ubufs(), called from
// ip_local_deliver_finish(), before mid-2025 from __netif_receive_skb_core(); "Loopback" in
// the kernel's Documentation/networking/msg_zerocopy.rst), and perf shows that copy in the
// sending thread's softirq. So on loopback SEND_ZC still copies, later and into freshly
// allocated pages, and adds page pinning and a notification: 3-17x the CPU up to 16 KiB;
// its 0.7 at 64 KiB is not a saved copy and is gone by 256 KiB. Send bundles cost what SEND
// costs; their edge over the reactor's 16-iovec SENDMSG at 1 MiB (0.84) is one operation
// instead of four, which sendmsg_64 gets too (0.80). For small responses a bundle costs twice
// the reactor's coalesced SEND. Verdict: keep SEND/SENDMSG; zero copy needs a NIC to judge.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "ringside/third_party/liburing/liburing_compat.h"

// What liburing 2.3's header lacks (values from the kernel's include/uapi/linux/io_uring.h).
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif
#ifndef IORING_FEAT_RECVSEND_BUNDLE
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14)
#endif

ABSL_FLAG(int, rounds, 5, "rounds; each runs every method of every size once");
ABSL_FLAG(int, mib, 256, "MiB each large-response run sends (within the response bounds)");
ABSL_FLAG(int, min_responses, 256, "fewest responses of a large-response run");
ABSL_FLAG(int, max_responses, 50000, "most responses of a large-response run");
ABSL_FLAG(int, connections, 64, "connections of the small-response runs");
ABSL_FLAG(int, batch, 8, "small responses queued on a connection at a time");
ABSL_FLAG(int, batches, 500, "batches each connection sends in a small-response run");
ABSL_FLAG(bool, pin, true, "sending thread on CPU 0, receiving thread on CPU 1");

namespace ringside {
namespace {

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;
constexpr size_t kPage = 4096;
// The reactor's output block and its iovecs per send (reactor/block_pool.h, reactor_impl.h).
constexpr size_t kBlockBytes = 16 * kKiB;
constexpr int kReactorIovecs = 16;
// The most iovecs a SENDMSG here is given: a whole 1 MiB response in 16 KiB blocks.
constexpr int kMostIovecs = 64;
// Storage a connection rotates through, so a zero-copy buffer can wait for its
// notification while the next batch goes out from another.
constexpr int kSlots = 4;
// Provided-buffer ring of one connection's bundle sends: more entries than a batch has
// pieces (a 1 MiB response is 64 blocks).
constexpr unsigned kBundleRingEntries = 256;

constexpr char kSmallResponse[] =
    "HTTP/1.1 200 OK\r\nServer: ringside\r\nDate: Thu, 26 Nov 2026 10:00:00 GMT\r\n"
    "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
static_assert(sizeof(kSmallResponse) - 1 == 121);

[[noreturn]] void Die(const std::string& what, int error) {
  std::fprintf(stderr, "send_bench: %s: %s\n", what.c_str(), std::strerror(error));
  std::exit(1);
}

int64_t CpuNanos(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) Die("sched_setaffinity", errno);
}

enum class Op { kSend, kSendmsg, kSendZc, kSendZcFixed, kSendmsgZc, kBundle };

// How a batch's bytes lie in memory, which decides the iovecs the send is given.
enum class Layout {
  kContiguous,   // one buffer
  kBlocks,       // separate 16 KiB blocks, like the output chain's pool blocks
  kPerResponse,  // one separate buffer per response
};

struct Method {
  const char* name;
  Op op;
  Layout layout;
  int iovecs = kReactorIovecs;  // the most a SENDMSG or SENDMSG_ZC is given
};

constexpr std::array<Method, 7> kLargeMethods = {{
    {"send", Op::kSend, Layout::kContiguous},
    {"sendmsg", Op::kSendmsg, Layout::kBlocks},
    {"sendmsg_64", Op::kSendmsg, Layout::kBlocks, kMostIovecs},
    {"send_zc", Op::kSendZc, Layout::kContiguous},
    {"send_zc_fixed", Op::kSendZcFixed, Layout::kContiguous},
    {"sendmsg_zc", Op::kSendmsgZc, Layout::kBlocks},
    {"bundle", Op::kBundle, Layout::kBlocks},
}};
constexpr int kLargeReactorMethod = 1;  // sendmsg

constexpr std::array<Method, 4> kSmallMethods = {{
    {"send_each", Op::kSend, Layout::kPerResponse},
    {"send_copied", Op::kSend, Layout::kContiguous},
    {"sendmsg", Op::kSendmsg, Layout::kPerResponse},
    {"bundle", Op::kBundle, Layout::kPerResponse},
}};
constexpr int kSmallReactorMethod = 1;  // send_copied

bool ZeroCopy(Op op) { return op == Op::kSendZc || op == Op::kSendZcFixed || op == Op::kSendmsgZc; }

// What one run sends: `batches` times, each connection queues `batch` responses of
// `response_bytes` and sends them before it queues the next batch.
struct Workload {
  std::string label;
  int connections;
  size_t response_bytes;
  int batch;
  int batches;
  const char* response;  // the small response's text; nullptr: filler bytes
};

struct RunResult {
  bool refused = false;
  std::string refusal;
  double sender_ns = 0;
  double receiver_ns = 0;
  double other_ns = 0;  // neither thread's: their start and exit, io-wq workers if any
  uint64_t notifications = 0;
  uint64_t copied_notifications = 0;
};

// Anonymous memory, populated up front so that no send takes a page fault.
class Arena {
 public:
  explicit Arena(size_t bytes) : bytes_(bytes) {
    void* mem = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (mem == MAP_FAILED) Die("mmap", errno);
    base_ = static_cast<char*>(mem);
  }
  ~Arena() { munmap(base_, bytes_); }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  char* Take(size_t bytes, size_t align) {
    used_ = (used_ + align - 1) / align * align;
    char* at = base_ + used_;
    used_ += bytes;
    if (used_ > bytes_) {
      std::fprintf(stderr, "send_bench: arena of %zu bytes too small\n", bytes_);
      std::exit(1);
    }
    return at;
  }
  char* base() const { return base_; }
  size_t bytes() const { return bytes_; }

 private:
  char* base_;
  size_t bytes_;
  size_t used_ = 0;
};

// The pieces of a batch in `layout`, carved from `arena` and filled with `stream`.
std::vector<iovec> LayOut(Arena& arena, Layout layout, const std::string& stream,
                          size_t response_bytes) {
  std::vector<iovec> pieces;
  auto add = [&](size_t from, size_t bytes, size_t align, size_t gap) {
    char* at = arena.Take(bytes + gap, align);
    std::memcpy(at, stream.data() + from, bytes);
    pieces.push_back({at, bytes});
  };
  switch (layout) {
    case Layout::kContiguous:
      add(0, stream.size(), kPage, 0);
      break;
    case Layout::kBlocks:
      // A page between blocks keeps them apart, as separately allocated blocks are.
      for (size_t from = 0; from < stream.size(); from += kBlockBytes) {
        add(from, std::min(kBlockBytes, stream.size() - from), kPage, kPage);
      }
      break;
    case Layout::kPerResponse:
      // A byte between responses keeps any two from being one contiguous run.
      for (size_t from = 0; from < stream.size(); from += response_bytes) {
        add(from, response_bytes, 64, 1);
      }
      break;
  }
  return pieces;
}

size_t ArenaBytes(const Workload& w) {
  const size_t stream = w.response_bytes * static_cast<size_t>(w.batch);
  const size_t blocks = (stream + kBlockBytes - 1) / kBlockBytes;
  const size_t per_response = static_cast<size_t>(w.batch) * (w.response_bytes + 64 + 64);
  const size_t per_slot =
      std::max({stream + kPage, blocks * (kBlockBytes + 2 * kPage), per_response + kPage});
  return static_cast<size_t>(w.connections) * kSlots * per_slot + kPage;
}

// The unsent pieces of a connection, consumed front first as sends complete.
class PendingOutput {
 public:
  void Push(const std::vector<iovec>& pieces) {
    for (const iovec& piece : pieces) {
      pieces_.push_back(piece);
      bytes_ += piece.iov_len;
    }
  }
  bool empty() const { return bytes_ == 0; }

  int Fill(iovec* out, int max) const {
    int n = 0;
    for (size_t i = head_; i < pieces_.size() && n < max; ++i, ++n) {
      out[n] = pieces_[i];
      if (i == head_) {
        out[n].iov_base = static_cast<char*>(out[n].iov_base) + head_offset_;
        out[n].iov_len -= head_offset_;
      }
    }
    return n;
  }

  void Consume(size_t bytes) {
    bytes_ -= bytes;
    while (bytes > 0) {
      const size_t left = pieces_[head_].iov_len - head_offset_;
      if (bytes < left) {
        head_offset_ += bytes;
        return;
      }
      bytes -= left;
      ++head_;
      head_offset_ = 0;
    }
    if (bytes_ == 0) {
      pieces_.clear();
      head_ = 0;
      head_offset_ = 0;
    }
  }

 private:
  std::vector<iovec> pieces_;
  size_t head_ = 0;
  size_t head_offset_ = 0;
  size_t bytes_ = 0;
};

// Reads every connection's bytes and throws them away, until it has `expected_bytes` or
// every connection has ended.
void Receive(const std::vector<int>& fds, uint64_t expected_bytes, bool pin, double* cpu_ns) {
  if (pin) PinTo(1);
  const int epoll = epoll_create1(EPOLL_CLOEXEC);
  for (size_t i = 0; i < fds.size(); ++i) {
    epoll_event event{EPOLLIN, {.u32 = static_cast<uint32_t>(i)}};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fds[i], &event);
  }
  std::vector<char> buffer(4 * kMiB);
  std::vector<epoll_event> events(fds.size());
  uint64_t received = 0;
  size_t open = fds.size();
  while (received < expected_bytes && open > 0) {
    const int n = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno != EINTR) Die("epoll_wait", errno);
    for (int e = 0; e < n; ++e) {
      const int fd = fds[events[e].data.u32];
      ssize_t got;
      while ((got = recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT)) > 0) {
        received += static_cast<uint64_t>(got);
      }
      if (got == 0) {
        epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr);
        --open;
      }
    }
  }
  close(epoll);
  // A new thread's CPU clock starts at zero: this is all the CPU the receiver used.
  *cpu_ns = static_cast<double>(CpuNanos(CLOCK_THREAD_CPUTIME_ID));
}

// Loopback TCP connections: the accepted ends send (TCP_NODELAY, as the reactor sets it),
// the connecting ends receive.
struct Connections {
  std::vector<int> sending;
  std::vector<int> receiving;
  ~Connections() {
    for (int fd : sending) close(fd);
    for (int fd : receiving) close(fd);
  }
};

void Connect(int count, Connections* out) {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(listener, count) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("listen on 127.0.0.1", errno);
  }
  for (int i = 0; i < count; ++i) {
    const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (client < 0 || connect(client, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      Die("connect", errno);
    }
    const int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (server < 0) Die("accept", errno);
    const int one = 1;
    setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    out->receiving.push_back(client);
    out->sending.push_back(server);
  }
  close(listener);
}

// One run: one io_uring, every connection sending its batches with `method`.
class Sender {
 public:
  Sender(const Method& method, const Workload& workload, const std::vector<int>& fds)
      : method_(method), arena_(ArenaBytes(workload)) {
    io_uring_params params{};
    // As the reactor sets up its ring (reactor/reactor.cc), with room for every
    // connection's completions and notifications.
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
    params.cq_entries = 4 * static_cast<unsigned>(fds.size()) + 64;
    const int err = io_uring_queue_init_params(std::max(64u, static_cast<unsigned>(fds.size())),
                                               &ring_, &params);
    if (err != 0) Die("io_uring_queue_init_params", -err);
    features_ = params.features;

    std::string stream;
    for (int i = 0; i < workload.batch; ++i) {
      stream += workload.response != nullptr ? std::string(workload.response)
                                             : std::string(workload.response_bytes, 'b');
    }
    connections_.resize(fds.size());
    for (size_t c = 0; c < fds.size(); ++c) {
      Connection& conn = connections_[c];
      conn.fd = fds[c];
      conn.batches_left = workload.batches;
      for (int slot = 0; slot < kSlots; ++slot) {
        conn.pieces[slot] = LayOut(arena_, method.layout, stream, workload.response_bytes);
      }
    }
  }
  ~Sender() {
    for (size_t c = 0; c < connections_.size(); ++c) {
      if (connections_[c].bundle_ring != nullptr) {
        uring_compat::FreeBufRing(&ring_, connections_[c].bundle_ring, kBundleRingEntries,
                                  static_cast<uint16_t>(c));
      }
    }
    io_uring_queue_exit(&ring_);
  }
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // Registers what the method needs; false (and why, in *refusal) if the kernel says no.
  bool Prepare(std::string* refusal) {
    if (method_.op == Op::kSendZcFixed) {
      const iovec whole{arena_.base(), arena_.bytes()};
      const int err = io_uring_register_buffers(&ring_, &whole, 1);
      if (err != 0) return Refuse(refusal, "io_uring_register_buffers", err);
    }
    if (method_.op == Op::kBundle) {
      if ((features_ & IORING_FEAT_RECVSEND_BUNDLE) == 0) {
        *refusal = "no IORING_FEAT_RECVSEND_BUNDLE";
        return false;
      }
      for (size_t c = 0; c < connections_.size(); ++c) {
        int err = 0;
        connections_[c].bundle_ring = uring_compat::SetupBufRing(&ring_, kBundleRingEntries,
                                                                 static_cast<uint16_t>(c), 0, &err);
        if (connections_[c].bundle_ring == nullptr) {
          return Refuse(refusal, "registering a send buffer ring", err);
        }
      }
    }
    return true;
  }

  // Sends everything; false (and why) if the kernel refused an operation.
  bool Run(std::string* refusal) {
    for (size_t c = 0; c < connections_.size(); ++c) QueueNextBatch(c);
    while (finished_ < connections_.size()) {
      const int err = io_uring_submit_and_wait(&ring_, 1);
      if (err < 0 && err != -EINTR) Die("io_uring_submit_and_wait", -err);
      unsigned head;
      unsigned seen = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        ++seen;
        if (!OnCompletion(*cqe, refusal)) return false;
      }
      io_uring_cq_advance(&ring_, seen);
    }
    return true;
  }

  uint64_t notifications() const { return notifications_; }
  uint64_t copied_notifications() const { return copied_notifications_; }

 private:
  struct Connection {
    int fd = -1;
    std::array<std::vector<iovec>, kSlots> pieces;
    std::array<int, kSlots> notifications_due{};
    PendingOutput out;
    int batches_left = 0;
    int batches_queued = 0;
    int sending_slot = 0;
    bool send_in_flight = false;
    bool finished = false;
    // A SENDMSG's header and iovecs, kept until its completion.
    msghdr message{};
    std::array<iovec, kMostIovecs> iov{};
    io_uring_buf_ring* bundle_ring = nullptr;
    uint16_t next_bid = 0;
  };

  static bool Refuse(std::string* refusal, const char* what, int err) {
    *refusal = std::string(what) + ": " + std::strerror(-err);
    return false;
  }

  static uint64_t UserData(size_t connection, int slot) {
    return static_cast<uint64_t>(connection) * kSlots + static_cast<uint64_t>(slot);
  }

  io_uring_sqe* Sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  // Queues the connection's next batch and starts sending it, unless the connection is
  // still sending, has sent every batch (it is finished once every notification is in),
  // or its next slot still waits for zero-copy notifications.
  void QueueNextBatch(size_t index) {
    Connection& c = connections_[index];
    if (c.send_in_flight || !c.out.empty()) return;
    const int slot = c.batches_queued % kSlots;
    if (c.batches_left == 0) {
      bool notified = true;
      for (int due : c.notifications_due) notified = notified && due == 0;
      if (notified && !c.finished) {
        c.finished = true;
        ++finished_;
      }
      return;
    }
    if (c.notifications_due[slot] > 0) return;
    --c.batches_left;
    ++c.batches_queued;
    c.sending_slot = slot;
    c.out.Push(c.pieces[slot]);
    if (method_.op == Op::kBundle) {
      const int mask = io_uring_buf_ring_mask(kBundleRingEntries);
      int added = 0;
      for (const iovec& piece : c.pieces[slot]) {
        io_uring_buf_ring_add(c.bundle_ring, piece.iov_base, static_cast<unsigned>(piece.iov_len),
                              c.next_bid++, mask, added++);
      }
      io_uring_buf_ring_advance(c.bundle_ring, added);
    }
    StartSend(index);
  }

  void StartSend(size_t index) {
    Connection& c = connections_[index];
    io_uring_sqe* sqe = Sqe();
    switch (method_.op) {
      case Op::kSend:
      case Op::kSendZc:
      case Op::kSendZcFixed: {
        iovec run{};
        c.out.Fill(&run, 1);
        if (method_.op == Op::kSend) {
          io_uring_prep_send(sqe, c.fd, run.iov_base, run.iov_len, MSG_NOSIGNAL);
        } else if (method_.op == Op::kSendZc) {
          io_uring_prep_send_zc(sqe, c.fd, run.iov_base, run.iov_len, MSG_NOSIGNAL,
                                IORING_SEND_ZC_REPORT_USAGE);
        } else {
          io_uring_prep_send_zc_fixed(sqe, c.fd, run.iov_base, run.iov_len, MSG_NOSIGNAL,
                                      IORING_SEND_ZC_REPORT_USAGE, /*buf_index=*/0);
        }
        break;
      }
      case Op::kSendmsg:
      case Op::kSendmsgZc:
        c.message = msghdr{};
        c.message.msg_iov = c.iov.data();
        c.message.msg_iovlen = static_cast<size_t>(c.out.Fill(c.iov.data(), method_.iovecs));
        if (method_.op == Op::kSendmsg) {
          io_uring_prep_sendmsg(sqe, c.fd, &c.message, MSG_NOSIGNAL);
        } else {
          io_uring_prep_sendmsg_zc(sqe, c.fd, &c.message, MSG_NOSIGNAL);
          sqe->ioprio |= IORING_SEND_ZC_REPORT_USAGE;
        }
        break;
      case Op::kBundle:
        // No address or length: the kernel takes the queued ring entries, as many as it
        // can send whole.
        io_uring_prep_send(sqe, c.fd, nullptr, 0, MSG_NOSIGNAL);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = static_cast<uint16_t>(index);
        sqe->ioprio |= IORING_RECVSEND_BUNDLE;
        break;
    }
    io_uring_sqe_set_data64(sqe, UserData(index, c.sending_slot));
    c.send_in_flight = true;
  }

  bool OnCompletion(const io_uring_cqe& cqe, std::string* refusal) {
    const size_t index = cqe.user_data / kSlots;
    const int slot = static_cast<int>(cqe.user_data % kSlots);
    Connection& c = connections_[index];
    if ((cqe.flags & IORING_CQE_F_NOTIF) != 0) {
      // The kernel let go of the slot's pages: the slot may be queued again.
      --c.notifications_due[slot];
      ++notifications_;
      if ((static_cast<uint32_t>(cqe.res) & IORING_NOTIF_USAGE_ZC_COPIED) != 0) {
        ++copied_notifications_;
      }
      QueueNextBatch(index);
      return true;
    }
    if (cqe.res < 0) {
      if (cqe.res == -EINVAL || cqe.res == -EOPNOTSUPP) {
        return Refuse(refusal, method_.name, cqe.res);
      }
      Die(std::string(method_.name) + " completion", -cqe.res);
    }
    c.out.Consume(static_cast<size_t>(cqe.res));
    const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
    // A zero-copy send's F_MORE announces its notification; a bundle's, that the same
    // operation goes on with the ring entries still queued.
    if (ZeroCopy(method_.op) && more) ++c.notifications_due[slot];
    if (method_.op == Op::kBundle && more) return true;
    c.send_in_flight = false;
    if (!c.out.empty()) {
      StartSend(index);  // a short send, or a bundle that stopped early: send the rest
    } else {
      QueueNextBatch(index);
    }
    return true;
  }

  const Method& method_;
  Arena arena_;
  io_uring ring_;
  uint32_t features_ = 0;
  std::vector<Connection> connections_;
  size_t finished_ = 0;
  uint64_t notifications_ = 0;
  uint64_t copied_notifications_ = 0;
};

RunResult RunOnce(const Method& method, const Workload& workload, bool pin) {
  RunResult result;
  Connections connections;
  Connect(workload.connections, &connections);
  Sender sender(method, workload, connections.sending);
  if (!sender.Prepare(&result.refusal)) {
    result.refused = true;
    return result;
  }
  const uint64_t expected = static_cast<uint64_t>(workload.connections) *
                            static_cast<uint64_t>(workload.batches) *
                            static_cast<uint64_t>(workload.batch) * workload.response_bytes;
  double receiver_ns = 0;
  const int64_t process_start = CpuNanos(CLOCK_PROCESS_CPUTIME_ID);
  std::thread receiver(Receive, std::cref(connections.receiving), expected, pin, &receiver_ns);
  const int64_t sender_start = CpuNanos(CLOCK_THREAD_CPUTIME_ID);
  // A refused operation ends the run: the receiver then stops at end of stream.
  result.refused = !sender.Run(&result.refusal);
  result.sender_ns = static_cast<double>(CpuNanos(CLOCK_THREAD_CPUTIME_ID) - sender_start);
  if (result.refused) {
    for (int fd : connections.sending) shutdown(fd, SHUT_WR);
  }
  receiver.join();
  const int64_t process_ns = CpuNanos(CLOCK_PROCESS_CPUTIME_ID) - process_start;
  result.receiver_ns = receiver_ns;
  result.other_ns = static_cast<double>(process_ns) - receiver_ns - result.sender_ns;
  result.notifications = sender.notifications();
  result.copied_notifications = sender.copied_notifications();
  return result;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// One size's methods over every round.
struct Group {
  Workload workload;
  std::vector<Method> methods;
  int reactor_method;
  std::vector<std::vector<RunResult>> runs;  // [method][round]
};

std::string SizeLabel(size_t bytes) {
  return bytes >= kMiB ? std::to_string(bytes / kMiB) + " MiB"
                       : std::to_string(bytes / kKiB) + " KiB";
}

void PrintGroup(const Group& g) {
  const Workload& w = g.workload;
  const double responses = static_cast<double>(w.connections) * w.batches * w.batch;
  const double mib = responses * static_cast<double>(w.response_bytes) / kMiB;
  const size_t rounds = g.runs[0].size();
  for (size_t m = 0; m < g.methods.size(); ++m) {
    std::printf("%-22s %-14s", w.label.c_str(), g.methods[m].name);
    const auto refused = std::find_if(g.runs[m].begin(), g.runs[m].end(),
                                      [](const RunResult& run) { return run.refused; });
    if (refused != g.runs[m].end()) {
      std::printf(" refused by the kernel: %s\n", refused->refusal.c_str());
      continue;
    }
    std::vector<double> per_response, to_base, to_reactor, receiver_to_base;
    uint64_t notifications = 0, copied = 0;
    for (size_t r = 0; r < rounds; ++r) {
      const RunResult& run = g.runs[m][r];
      per_response.push_back(run.sender_ns / responses);
      to_base.push_back(run.sender_ns / g.runs[0][r].sender_ns);
      to_reactor.push_back(run.sender_ns / g.runs[g.reactor_method][r].sender_ns);
      receiver_to_base.push_back(run.receiver_ns / g.runs[0][r].receiver_ns);
      notifications += run.notifications;
      copied += run.copied_notifications;
    }
    const double ns = Median(per_response);
    const auto [lowest, highest] = std::minmax_element(to_base.begin(), to_base.end());
    std::printf(" %11.2f %13.0f %6.2f %5.2f-%-5.2f %8.2f %9.2f", ns / 1000,
                ns * responses / mib / 1000, Median(to_base), *lowest, *highest, Median(to_reactor),
                Median(receiver_to_base));
    if (notifications > 0) {
      std::printf("   %5.1f%% of %llu/run", 100.0 * static_cast<double>(copied) / notifications,
                  static_cast<unsigned long long>(notifications / rounds));
    }
    std::printf("\n");
  }
}

int Main() {
  const int rounds = absl::GetFlag(FLAGS_rounds);
  const bool pin = absl::GetFlag(FLAGS_pin);
  if (rounds < 1 || absl::GetFlag(FLAGS_connections) < 1 || absl::GetFlag(FLAGS_batch) < 1 ||
      absl::GetFlag(FLAGS_batch) > static_cast<int>(kBundleRingEntries) ||
      absl::GetFlag(FLAGS_batches) < 1 || absl::GetFlag(FLAGS_min_responses) < 1) {
    std::fprintf(stderr,
                 "send_bench: --rounds, --connections, --batches, --min_responses "
                 "must be positive and --batch within 1..256\n");
    return 2;
  }
  if (pin) PinTo(0);

  std::vector<Group> groups;
  for (size_t bytes : {1 * kKiB, 16 * kKiB, 64 * kKiB, 256 * kKiB, 1 * kMiB}) {
    const size_t wanted = static_cast<size_t>(absl::GetFlag(FLAGS_mib)) * kMiB / bytes;
    const int responses = static_cast<int>(
        std::clamp(wanted, static_cast<size_t>(absl::GetFlag(FLAGS_min_responses)),
                   static_cast<size_t>(std::max(absl::GetFlag(FLAGS_min_responses),
                                                absl::GetFlag(FLAGS_max_responses)))));
    groups.push_back(
        {{SizeLabel(bytes) + " x" + std::to_string(responses), 1, bytes, 1, responses, nullptr},
         {kLargeMethods.begin(), kLargeMethods.end()},
         kLargeReactorMethod,
         {}});
  }
  const Workload small{"121 B, " + std::to_string(absl::GetFlag(FLAGS_connections)) + " conns x" +
                           std::to_string(absl::GetFlag(FLAGS_batch)),
                       absl::GetFlag(FLAGS_connections),
                       sizeof(kSmallResponse) - 1,
                       absl::GetFlag(FLAGS_batch),
                       absl::GetFlag(FLAGS_batches),
                       kSmallResponse};
  groups.push_back({small, {kSmallMethods.begin(), kSmallMethods.end()}, kSmallReactorMethod, {}});

  for (Group& g : groups) g.runs.assign(g.methods.size(), {});
  for (int round = 0; round < rounds; ++round) {
    for (Group& g : groups) {
      const size_t n = g.methods.size();
      for (size_t i = 0; i < n; ++i) {
        const size_t m = (i + static_cast<size_t>(round)) % n;
        g.runs[m].push_back(RunOnce(g.methods[m], g.workload, pin));
      }
    }
    std::fprintf(stderr, "send_bench: round %d of %d done\n", round + 1, rounds);
  }

  utsname host;
  uname(&host);
  std::printf(
      "send_bench: kernel %s, %d round(s), %s; sending thread's CPU; medians over "
      "rounds, ratios are medians of per-round ratios (range: lowest-highest)\n",
      host.release, rounds, pin ? "sender on CPU 0, receiver on CPU 1" : "threads not pinned");
  std::printf("%-22s %-14s %11s %13s %6s %11s %8s %9s   %s\n", "responses", "method", "sender us/r",
              "sender us/MiB", "/base", "range", "/reactor", "recv/base", "zc copied");
  double most_other_ns = 0;
  for (const Group& g : groups) {
    PrintGroup(g);
    for (const auto& method_runs : g.runs) {
      for (const RunResult& run : method_runs) {
        most_other_ns = std::max(most_other_ns, run.other_ns);
      }
    }
  }
  std::printf(
      "CPU outside the two threads (their start and exit, io-wq workers): at most "
      "%.2f ms in a run\n",
      most_other_ns / 1e6);
  return 0;
}

}  // namespace
}  // namespace ringside

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "send_bench [--rounds=N]: sender CPU per response over loopback TCP for SEND, SENDMSG, "
      "SEND_ZC, SENDMSG_ZC and send bundles");
  absl::ParseCommandLine(argc, argv);
  return ringside::Main();
}
