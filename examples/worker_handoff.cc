// worker_handoff: a handler hands each request to a worker thread and answers from there.
//
// Each line is a request; the answer is the line in upper case, computed on a worker. The
// handler lends the line's bytes (a BufferLease: no copy, the receive buffer stays out of
// the kernel's hands until released) and pauses its input, so answers stay in order. The
// worker reads the lease, releases it on its own thread, and posts the answer back to the
// connection through its handle; the reactor thread appends it and resumes the input.
//
// It serves on a free port, talks to itself over a socket and exits 0 if the answers
// are right.
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "ringside/examples/loopback_client.h"
#include "ringside/reactor/connection_handler.h"
#include "ringside/reactor/reactor.h"

// One worker thread running the jobs it is given, in order.
class Worker {
 public:
  Worker() : thread_([this] { Run(); }) {}
  ~Worker() {
    Give(nullptr);  // the stop job
    thread_.join();
  }
  void Give(std::function<void()> job) {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(job));
    ready_.notify_one();
  }

 private:
  void Run() {
    for (;;) {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [this] { return !jobs_.empty(); });
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      if (!job) return;
      job();
    }
  }

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::thread thread_;
};

class UpperCaseHandler final : public ringside::ConnectionHandler {
 public:
  explicit UpperCaseHandler(Worker* worker) : worker_(worker) {}

  void OnInput(ringside::ConnectionIo& io) override {
    const size_t end = io.input().pending().find('\n');
    if (end == std::string_view::npos) return;  // wait for the rest of the line
    io.PauseInput();  // no more OnInput until the answer is in
    // The line's bytes, kept past this call without a copy; valid until released.
    auto line = std::make_shared<ringside::BufferLease>(io.input().Lend(end + 1));
    worker_->Give([line, handle = io.handle()] {
      // On the worker thread.
      std::string answer(line->view());
      for (char& c : answer) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      line->Reset();  // released from this thread: the buffer goes back to the kernel
      handle.reactor->PostToConnection(handle, [answer](ringside::ConnectionIo& connection) {
        // Back on the reactor thread, if the connection is still open.
        connection.output().AppendOrSpill(answer);
        connection.ResumeInput();  // OnInput runs again on what arrived meanwhile
      });
    });
  }

 private:
  Worker* worker_;
};

bool TalkTo(uint16_t port) {
  const std::string expected = "HELLO\nWORKER\nTHREADS\n";
  const std::string answers =
      examples::ExchangeOverLoopback(port, "hello\nworker\nthreads\n", expected.size());
  std::printf("%s", answers.c_str());
  return answers == expected;
}

int main() {
  ringside::ReactorConfig config;
  config.address = "127.0.0.1";
  auto worker = std::make_unique<Worker>();
  ringside::Reactor reactor(config, [&worker] {
    return std::make_unique<UpperCaseHandler>(worker.get());
  });
  if (absl::Status status = reactor.Start(); !status.ok()) {
    std::fprintf(stderr, "worker_handoff: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  const bool ok = TalkTo(reactor.port());
  reactor.Stop();
  reactor.Join();
  // Every lease must be released before the Reactor is destroyed: join the worker first.
  worker.reset();
  return ok ? 0 : 1;
}
