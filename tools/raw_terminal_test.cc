#include "ringside/tools/raw_terminal.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

#include <string>

namespace ringside::ringstat {
namespace {

// What the terminal side wrote so far (non-blocking).
std::string Drain(int master) {
  std::string out;
  char buf[4096];
  pollfd p{master, POLLIN, 0};
  while (poll(&p, 1, 100) > 0) {
    const ssize_t n = read(master, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

TEST(RawTerminalTest, RawWhileAliveAndRestoredAfter) {
  int master, slave;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  termios before{};
  tcgetattr(slave, &before);
  ASSERT_TRUE(before.c_lflag & ICANON);
  {
    RawTerminal terminal(slave, slave);
    ASSERT_TRUE(terminal.active());
    termios during{};
    tcgetattr(slave, &during);
    EXPECT_FALSE(during.c_lflag & (ICANON | ECHO | ISIG));
    EXPECT_NE(Drain(master).find("\x1b[?1049h"), std::string::npos);
    terminal.Draw("frame one\n");
    EXPECT_NE(Drain(master).find("frame one"), std::string::npos);
    EXPECT_GT(terminal.rows(), 0);
  }
  termios after{};
  tcgetattr(slave, &after);
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_NE(Drain(master).find("\x1b[?1049l"), std::string::npos);
  close(slave);
  close(master);
}

TEST(RawTerminalTest, InactiveOnAPipe) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  RawTerminal terminal(fds[0], fds[1]);
  EXPECT_FALSE(terminal.active());
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace ringside::ringstat
