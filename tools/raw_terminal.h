// raw_terminal.h: a full-screen terminal session for `ringstat top`, restored on exit.
//
// While a RawTerminal lives, the terminal reads keys one at a time without echo (Ctrl-C
// arrives as the byte 0x03 instead of a signal, so the program quits through its own
// clean-up path), draws on the alternate screen with the cursor hidden, and the previous
// settings and screen come back when it is destroyed.
//
//   {
//     RawTerminal terminal(STDIN_FILENO, STDOUT_FILENO);
//     if (!terminal.active()) ...;      // not a terminal: draw frames as plain text
//     ... terminal.Draw(frame); ...
//   }                                   // settings and screen restored
//
// Thread-compatible: use from one thread.
#ifndef RINGSIDE_TOOLS_RAW_TERMINAL_H_
#define RINGSIDE_TOOLS_RAW_TERMINAL_H_

#include <termios.h>

#include <string>

namespace ringside::ringstat {

class RawTerminal {
 public:
  RawTerminal(int input_fd, int output_fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  // False when `input_fd` is not a terminal; nothing was changed then.
  bool active() const { return active_; }
  // Rows of the output terminal (24 when unknown).
  int rows() const;
  // Replaces the screen's contents with `frame`.
  void Draw(const std::string& frame);

 private:
  const int input_fd_;
  const int output_fd_;
  bool active_ = false;
  termios saved_{};
};

}  // namespace ringside::ringstat

#endif  // RINGSIDE_TOOLS_RAW_TERMINAL_H_
