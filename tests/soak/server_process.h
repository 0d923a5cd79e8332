// server_process.h: the real server binary (//services:server) as a child process, for
// tests that drive it over TCP and watch it from outside (/proc, signals, exit status).
//
//   absl::StatusOr<std::unique_ptr<ServerProcess>> server =
//       ServerProcess::Start(ServerBinary(), {"--port=0", "--incremental=false"});
//   ... connect to 127.0.0.1:(*server)->port() ...
//   (*server)->Signal(SIGTERM);
//   std::optional<int> status = (*server)->WaitForExit(std::chrono::seconds(10));
//
// The port comes from the server's start-up line `listening on HOST:PORT (http|echo)`
// (DESIGN.md, "Contracts"), so `--port=0` lets parallel tests never collide.
//
// Thread-compatible; test-only.
#ifndef RINGSIDE_TESTS_SOAK_SERVER_PROCESS_H_
#define RINGSIDE_TESTS_SOAK_SERVER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ringside::soak {

// Whether the server runs under ASan (whose quarantine keeps freed memory, so its RSS says
// nothing about leaks): it is a data dependency, built with the same sanitizers as the test.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitizedServer = true;
#else
inline constexpr bool kSanitizedServer = false;
#endif

// Where Bazel put //services:server among the runfiles (`data = ["//services:server"]`) of
// the running binary, whose argv[0] is `argv0`, or of the running test when it is null.
std::string ServerBinary(const char* argv0 = nullptr);

class ServerProcess;

// ServerProcess::Start of ServerBinary() with its HTTP and admin listeners on free ports
// and `flags` after them (later flags win); the test fails, and it returns null, if the
// server does not start.
std::unique_ptr<ServerProcess> StartServerForTest(const std::vector<std::string>& flags);

class ServerProcess {
 public:
  // Starts `binary` with `args` and waits until it printed its protocol listener's line.
  // The child gets SIGKILL if this process dies, so a crashed test leaves no server behind.
  // Its stderr (the server's log) goes to the test's, or to a file created at
  // `stderr_path` when one is given, for tests that check what the server logged.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      std::chrono::milliseconds deadline = std::chrono::seconds(30),
      const std::string& stderr_path = "");

  // Kills the server (SIGKILL) if it is still running, and reaps it.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  // HOST:PORT from a `listening on HOST:PORT (admin)` line, or "" when the server printed
  // none (admin disabled, or a build without the admin service).
  const std::string& admin_address() const { return admin_address_; }

  bool Signal(int signal_number);
  // The wait status (see waitpid(2)) once the server exits, or nullopt at the deadline.
  std::optional<int> WaitForExit(std::chrono::milliseconds deadline);

  // Resident set size (VmRSS) in KiB, and the number of open file descriptors, read from
  // /proc; -1 when they cannot be read (the process is gone).
  int64_t ResidentKb() const;
  int OpenFds() const;

 private:
  ServerProcess(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}
  // Reads start-up lines until the protocol listener's line or the deadline.
  absl::Status ReadListeningLines(std::chrono::milliseconds deadline);
  // Takes bytes the server wrote to stdout, parsing each complete line.
  void Absorb(const char* data, size_t n);
  void ParseLine(const std::string& line);

  pid_t pid_;
  int stdout_fd_;
  bool exited_ = false;
  uint16_t port_ = 0;
  std::string admin_address_;
  std::string stdout_text_;  // what the server printed, for error messages
  std::string partial_line_;
};

}  // namespace ringside::soak

#endif  // RINGSIDE_TESTS_SOAK_SERVER_PROCESS_H_
