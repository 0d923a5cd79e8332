// unprivileged_command.h: a command line that runs a binary as an unprivileged user under
// chosen resource limits (prlimit(1), then setpriv(1)), for tests of limits root never meets:
// root's CAP_IPC_LOCK exempts its io_urings and buffer rings from RLIMIT_MEMLOCK.
//
//   absl::StatusOr<std::unique_ptr<UnprivilegedCommand>> command = UnprivilegedCommand::Create(
//       ServerBinary(), {.memlock_bytes = 8 << 20, .open_files = 20000});
//   ServerProcess::Start((*command)->program(), (*command)->Args({"--port=0"}));
//
// The binary runs from a copy in a fresh directory under /tmp: Bazel's runfiles live under
// /root, which only root may enter. Each command gets a uid of its own, with no other
// process and no passwd entry, because the kernel charges locked memory to the user, not to
// the process: a shared user such as nobody would share its 8 MiB with every process of that
// user on the machine, including a previous server of this test whose io_urings the kernel
// is still tearing down (it does that after the process has exited). The child also gets
// SIGKILL when its parent dies (setpriv --pdeathsig: changing uids clears prctl's).
//
// Thread-compatible; test-only.
#ifndef RINGSIDE_TESTS_SOAK_UNPRIVILEGED_COMMAND_H_
#define RINGSIDE_TESTS_SOAK_UNPRIVILEGED_COMMAND_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace ringside::soak {

struct UnprivilegedLimits {
  uint64_t memlock_bytes = 8 << 20;  // RLIMIT_MEMLOCK, soft and hard (8 MiB: Debian's default)
  uint64_t open_files = 1024;        // RLIMIT_NOFILE, soft and hard
};

class UnprivilegedCommand {
 public:
  // Copies `binary` into a directory every user may enter and picks the uid.
  static absl::StatusOr<std::unique_ptr<UnprivilegedCommand>> Create(
      const std::string& binary, const UnprivilegedLimits& limits);
  // Removes the copy and its directory.
  ~UnprivilegedCommand();
  UnprivilegedCommand(const UnprivilegedCommand&) = delete;
  UnprivilegedCommand& operator=(const UnprivilegedCommand&) = delete;

  // What to execute, and its arguments for running the binary with `args`.
  const std::string& program() const { return program_; }
  std::vector<std::string> Args(const std::vector<std::string>& args) const;

  uid_t uid() const { return uid_; }
  // A directory of this command (removed with it) for files such as a captured stderr.
  const std::string& directory() const { return directory_; }

 private:
  UnprivilegedCommand(std::string directory, std::string copy, uid_t uid,
                      const UnprivilegedLimits& limits)
      : directory_(std::move(directory)), copy_(std::move(copy)), uid_(uid), limits_(limits) {}

  const std::string program_ = "/usr/bin/prlimit";
  const std::string directory_;
  const std::string copy_;
  const uid_t uid_;
  const UnprivilegedLimits limits_;
};

}  // namespace ringside::soak

#endif  // RINGSIDE_TESTS_SOAK_UNPRIVILEGED_COMMAND_H_
