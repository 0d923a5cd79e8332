#include "ringside/tests/soak/unprivileged_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ringside::soak {
namespace {

// Far above any uid a system allocates, a block of 16 per test process, cycling.
uid_t FreshUid() {
  static std::atomic<uint32_t> next{0};
  return static_cast<uid_t>(1000000 + (getpid() % 100000) * 16 + next.fetch_add(1) % 16);
}

}  // namespace

absl::StatusOr<std::unique_ptr<UnprivilegedCommand>> UnprivilegedCommand::Create(
    const std::string& binary, const UnprivilegedLimits& limits) {
  char directory[] = "/tmp/ringside-unprivileged-XXXXXX";
  if (mkdtemp(directory) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  const std::string copy =
      absl::StrCat(directory, "/", std::filesystem::path(binary).filename().string());
  std::error_code error;
  std::filesystem::copy_file(binary, copy, error);
  if (error || chmod(directory, 0755) != 0 || chmod(copy.c_str(), 0755) != 0) {
    std::filesystem::remove_all(directory, error);
    return absl::InternalError(absl::StrCat("copying ", binary, " into ", directory, ": ",
                                            error ? error.message() : std::strerror(errno)));
  }
  return std::unique_ptr<UnprivilegedCommand>(
      new UnprivilegedCommand(directory, copy, FreshUid(), limits));
}

UnprivilegedCommand::~UnprivilegedCommand() {
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::vector<std::string> UnprivilegedCommand::Args(const std::vector<std::string>& args) const {
  std::vector<std::string> out = {
      absl::StrCat("--memlock=", limits_.memlock_bytes, ":", limits_.memlock_bytes),
      absl::StrCat("--nofile=", limits_.open_files, ":", limits_.open_files),
      "/usr/bin/setpriv",
      "--pdeathsig=SIGKILL",
      absl::StrCat("--reuid=", uid_),
      absl::StrCat("--regid=", uid_),
      "--clear-groups",
      copy_,
  };
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

}  // namespace ringside::soak
