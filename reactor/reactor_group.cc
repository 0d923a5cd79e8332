#include "ringside/reactor/reactor_group.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <thread>
#include <utility>

namespace ringside {
namespace {

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

// After the first stop signal the server drains; a second one ends the process at once,
// by that signal, so its parent sees why.
void ExitOnSecondSignal() {
  std::thread([] {
    const sigset_t signals = StopSignals();
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) return;
    static constexpr char kLine[] = "ringside: second signal, exiting now\n";
    (void)!write(STDERR_FILENO, kLine, sizeof(kLine) - 1);
    std::signal(signal_number, SIG_DFL);
    sigset_t just_this;
    sigemptyset(&just_this);
    sigaddset(&just_this, signal_number);
    pthread_sigmask(SIG_UNBLOCK, &just_this, nullptr);
    raise(signal_number);
    _exit(128 + signal_number);  // not reached
  }).detach();
}

}  // namespace

ReactorGroup::ReactorGroup(const ReactorGroupConfig& config, Handlers handlers)
    : config_(config), handlers_(std::move(handlers)) {}

ReactorGroup::~ReactorGroup() {
  std::lock_guard<std::mutex> lock(mu_);
  StopLocked();
}

absl::Status ReactorGroup::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ != State::kNew) {
    return absl::FailedPreconditionError(state_ == State::kRunning
                                             ? "ReactorGroup::Start: called twice"
                                             : "ReactorGroup::Start: the group was stopped");
  }
  if (config_.reactors == 0) {
    return absl::InvalidArgumentError("ReactorGroup: reactors must be at least 1");
  }
  ReactorConfig config = config_.reactor;
  for (uint32_t i = 0; i < config_.reactors; ++i) {
    config.id = i;
    config.exclusive_port = i == 0 && config_.exclusive_port;
    reactors_.push_back(std::make_unique<Reactor>(config, handlers_(i)));
    if (absl::Status status = reactors_.back()->Start(); !status.ok()) {
      state_ = State::kRunning;
      StopLocked();
      reactors_.clear();
      state_ = State::kNew;
      return status;
    }
    // With port 0 the first reactor picked the port; the others share it.
    config.port = reactors_.front()->port();
  }
  state_ = State::kRunning;
  return absl::OkStatus();
}

absl::Status ReactorGroup::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ == State::kNew) {
    return absl::FailedPreconditionError("ReactorGroup::Stop: the group was not started");
  }
  StopLocked();
  return absl::OkStatus();
}

void ReactorGroup::StopLocked() {
  if (state_ != State::kRunning) return;
  for (auto& reactor : reactors_) reactor->Stop();
  for (auto& reactor : reactors_) reactor->Join();
  state_ = State::kStopped;
}

uint16_t ReactorGroup::port() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reactors_.empty() ? 0 : reactors_.front()->port();
}

std::vector<Reactor*> ReactorGroup::reactors() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Reactor*> list;
  for (const auto& reactor : reactors_) list.push_back(reactor.get());
  return list;
}

void ReactorGroup::BlockStopSignals() {
  signal(SIGPIPE, SIG_IGN);
  const sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int ReactorGroup::WaitForStopSignal(std::chrono::milliseconds interval,
                                    const std::function<void()>& every_interval) {
  const sigset_t signals = StopSignals();
  int signal_number = 0;
  if (interval.count() > 0 && every_interval) {
    const timespec wait{.tv_sec = static_cast<time_t>(interval.count() / 1000),
                        .tv_nsec = static_cast<long>(interval.count() % 1000) * 1000000L};
    while ((signal_number = sigtimedwait(&signals, nullptr, &wait)) < 0) every_interval();
  } else {
    while (sigwait(&signals, &signal_number) != 0) {
    }
  }
  ExitOnSecondSignal();
  return signal_number;
}

}  // namespace ringside
