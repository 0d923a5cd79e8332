#include "ringside/tests/soak/server_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ringside/tests/process_memory.h"
#include "tools/cpp/runfiles/runfiles.h"

namespace ringside::soak {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point end) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

}  // namespace

std::string ServerBinary(const char* argv0) {
  using bazel::tools::cpp::runfiles::Runfiles;
  std::string error;
  std::unique_ptr<Runfiles> runfiles(argv0 == nullptr ? Runfiles::CreateForTest(&error)
                                                      : Runfiles::Create(argv0, &error));
  if (runfiles == nullptr) {
    std::fprintf(stderr, "runfiles: %s\n", error.c_str());
    std::abort();
  }
  return runfiles->Rlocation("ringside/services/server");
}

std::unique_ptr<ServerProcess> StartServerForTest(const std::vector<std::string>& flags) {
  std::vector<std::string> args = {"--port=0", "--admin_address=127.0.0.1:0"};
  args.insert(args.end(), flags.begin(), flags.end());
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(ServerBinary(), args);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& binary, const std::vector<std::string>& args,
    std::chrono::milliseconds deadline, const std::string& stderr_path) {
  // Everything the child needs is built before fork(): after it, only async-signal-safe
  // calls are allowed (this process may have threads).
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  int log_fd = -1;
  if (!stderr_path.empty()) {
    log_fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      const int open_errno = errno;
      close(out[0]);
      close(out[1]);
      return absl::InternalError(
          absl::StrCat("open ", stderr_path, ": ", std::strerror(open_errno)));
    }
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    dup2(out[1], STDOUT_FILENO);
    if (log_fd >= 0) dup2(log_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    static constexpr char kExecFailed[] = "ServerProcess: execv failed\n";
    (void)!write(STDERR_FILENO, kExecFailed, sizeof(kExecFailed) - 1);
    _exit(127);
  }
  close(out[1]);
  if (log_fd >= 0) close(log_fd);
  std::unique_ptr<ServerProcess> server(new ServerProcess(pid, out[0]));
  if (absl::Status status = server->ReadListeningLines(deadline); !status.ok()) return status;
  return server;
}

ServerProcess::~ServerProcess() {
  if (!exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  close(stdout_fd_);
}

absl::Status ServerProcess::ReadListeningLines(std::chrono::milliseconds deadline) {
  const Clock::time_point end = Clock::now() + deadline;
  char buf[4096];
  while (port_ == 0) {
    pollfd p{stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, RemainingMs(end)) <= 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("no `listening on` line from the server; it printed: ", stdout_text_));
    }
    const ssize_t n = read(stdout_fd_, buf, sizeof(buf));
    if (n <= 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the server closed its stdout before listening; it printed: ", stdout_text_));
    }
    Absorb(buf, static_cast<size_t>(n));
  }
  // The server prints all its listener lines with one flush, so any admin line is in the
  // pipe by now; read it without waiting.
  fcntl(stdout_fd_, F_SETFL, O_NONBLOCK);
  for (ssize_t n; (n = read(stdout_fd_, buf, sizeof(buf))) > 0;) {
    Absorb(buf, static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

void ServerProcess::Absorb(const char* data, size_t n) {
  stdout_text_.append(data, n);
  partial_line_.append(data, n);
  for (size_t eol; (eol = partial_line_.find('\n')) != std::string::npos;) {
    ParseLine(partial_line_.substr(0, eol));
    partial_line_.erase(0, eol + 1);
  }
}

// `listening on HOST:PORT (PROTOCOL)`; HOST may be a bracketed IPv6 address.
void ServerProcess::ParseLine(const std::string& line) {
  static constexpr std::string_view kPrefix = "listening on ";
  if (line.rfind(kPrefix, 0) != 0) return;
  const size_t space = line.find(' ', kPrefix.size());
  if (space == std::string::npos) return;
  const std::string address = line.substr(kPrefix.size(), space - kPrefix.size());
  const std::string protocol = line.substr(space + 1);
  if (protocol == "(admin)") {
    admin_address_ = address;
    return;
  }
  const size_t colon = address.rfind(':');
  uint32_t port = 0;
  if (colon != std::string::npos && absl::SimpleAtoi(address.substr(colon + 1), &port) &&
      port > 0 && port <= 65535) {
    port_ = static_cast<uint16_t>(port);
  }
}

bool ServerProcess::Signal(int signal_number) {
  return !exited_ && kill(pid_, signal_number) == 0;
}

std::optional<int> ServerProcess::WaitForExit(std::chrono::milliseconds deadline) {
  if (exited_) return std::nullopt;
  // A pidfd becomes readable when the process exits: a wait with a deadline, no polling.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd < 0) return std::nullopt;
  pollfd p{pidfd, POLLIN, 0};
  const int ready = poll(&p, 1, static_cast<int>(deadline.count()));
  close(pidfd);
  if (ready <= 0) return std::nullopt;
  int status = 0;
  if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  exited_ = true;
  return status;
}

int64_t ServerProcess::ResidentKb() const {
  const int64_t bytes = ResidentBytes(pid_);
  return bytes < 0 ? -1 : bytes / 1024;
}

int ServerProcess::OpenFds() const {
  DIR* dir = opendir(absl::StrCat("/proc/", pid_, "/fd").c_str());
  if (dir == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = readdir(dir)) count += entry->d_name[0] != '.';
  closedir(dir);
  return count;
}

}  // namespace ringside::soak
