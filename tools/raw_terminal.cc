#include "ringside/tools/raw_terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <string_view>

namespace ringside::ringstat {
namespace {

constexpr std::string_view kEnterScreen = "\x1b[?1049h\x1b[?25l";  // alternate screen, no cursor
constexpr std::string_view kLeaveScreen = "\x1b[?25h\x1b[?1049l";
constexpr std::string_view kHomeAndClear = "\x1b[H\x1b[2J";

void WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n <= 0) return;  // the terminal went away; nothing left to show
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

RawTerminal::RawTerminal(int input_fd, int output_fd)
    : input_fd_(input_fd), output_fd_(output_fd) {
  if (!isatty(input_fd_) || !isatty(output_fd_) || tcgetattr(input_fd_, &saved_) != 0) return;
  termios raw = saved_;
  raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  if (tcsetattr(input_fd_, TCSANOW, &raw) != 0) return;
  active_ = true;
  WriteAll(output_fd_, kEnterScreen);
}

RawTerminal::~RawTerminal() {
  if (!active_) return;
  WriteAll(output_fd_, kLeaveScreen);
  tcsetattr(input_fd_, TCSANOW, &saved_);
}

int RawTerminal::rows() const {
  winsize size{};
  if (ioctl(output_fd_, TIOCGWINSZ, &size) != 0 || size.ws_row == 0) return 24;
  return size.ws_row;
}

void RawTerminal::Draw(const std::string& frame) {
  // Raw mode leaves output processing on, so "\n" still returns the carriage.
  std::string screen(kHomeAndClear);
  screen += frame;
  WriteAll(output_fd_, screen);
}

}  // namespace ringside::ringstat
