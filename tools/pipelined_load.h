// pipelined_load.h: the load side of ringside's benchmarks — keep-alive connections to a
// running HTTP server, each keeping `depth` pipelined GET /pipeline requests in flight —
// and how a phase of it is measured.
//
//   const sockaddr_in target = ParseIpv4Address("127.0.0.1:8080", "my_bench");
//   std::vector<std::unique_ptr<LoadGenerator>> load;
//   load.push_back(std::make_unique<LoadGenerator>(target, /*connections=*/1000, /*depth=*/16));
//   std::atomic<bool> stop{false};
//   std::thread t([&] { load[0]->Run(stop); });
//   double per_second = Measure(load, /*seconds=*/2);   // responses per second
//   stop = true; t.join();
//
// Thread-safety: a LoadGenerator runs on one thread; responses() may be read from any.
#ifndef RINGSIDE_TOOLS_PIPELINED_LOAD_H_
#define RINGSIDE_TOOLS_PIPELINED_LOAD_H_

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ringside::bench {

// An IPv4 HOST:PORT; exits with status 2, naming `what` (e.g. "--http"), when it is not one.
sockaddr_in ParseIpv4Address(const std::string& host_port, const char* what);

// One thread's connections, each refilled to `depth` requests in flight as answers arrive.
// Exits the process if a connection fails (a benchmark with a broken load means nothing).
class LoadGenerator {
 public:
  LoadGenerator(const sockaddr_in& target, int connections, int depth);
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  void Run(const std::atomic<bool>& stop);
  uint64_t responses() const { return responses_.load(std::memory_order_relaxed); }

 private:
  void Send(int fd, int requests);

  const int depth_;
  const int epoll_;
  std::vector<int> fds_;
  std::vector<std::string> tails_;
  std::atomic<uint64_t> responses_{0};
};

uint64_t TotalResponses(const std::vector<std::unique_ptr<LoadGenerator>>& generators);
// Responses per second over one phase of `seconds`.
double Measure(const std::vector<std::unique_ptr<LoadGenerator>>& generators, double seconds);
// /proc/loadavg's three averages, "1.02 0.98 0.77": the run's conditions, printed with it.
std::string LoadAverage();
// User plus system CPU seconds of process `pid` (from /proc), or -1 if it cannot be read.
double CpuSeconds(int pid);

}  // namespace ringside::bench

#endif  // RINGSIDE_TOOLS_PIPELINED_LOAD_H_
