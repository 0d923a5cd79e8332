// ringstat: the command-line client of the ringside admin service (admin.proto).
//
//   ringstat [--admin=HOST:PORT] [--token_file=F | --token=T] [--json] list | get ID | server | top
//
// list: every live connection, paged through ListConnections. get ID: one connection with
// its per-buffer detail. server: per-reactor totals, mode, kernel features, configuration.
// top: a live view fed by WatchConnections; keys < > (or arrows) choose the sort column,
// r reverses, q or Ctrl-C quits. --json prints proto3 JSON (top: one object per snapshot).
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ringside/services/admin/admin.grpc.pb.h"
#include "ringside/tools/raw_terminal.h"
#include "ringside/tools/ringstat_view.h"

ABSL_FLAG(std::string, admin, "127.0.0.1:9900", "the admin service, HOST:PORT");
ABSL_FLAG(std::string, token, "",
          "bearer token (the server's admin token). Other local users can read it in "
          "/proc/PID/cmdline (and ps): prefer --token_file");
ABSL_FLAG(std::string, token_file, "",
          "file whose content (one trailing newline stripped) is the bearer token");
ABSL_FLAG(bool, json, false, "print proto3 JSON instead of tables");
ABSL_FLAG(std::string, sort, "",
          "list/top: column heading to sort by (ID, PEER, RECV, RECV/s, CQES, ENOBUF, HELD, "
          "REQS, ...); default ID for list, RECV/s for top");
ABSL_FLAG(bool, reverse, false,
          "reverse the sort order (default: ID and PEER ascending, counters descending)");
ABSL_FLAG(int, reactor, -1, "list/top: only this reactor's connections");
ABSL_FLAG(int, interval_ms, 1000, "top: refresh period (the service allows 100..60000)");
ABSL_FLAG(int, frames, 0, "top: quit after this many snapshots (0: until q or Ctrl-C)");

namespace ringside::ringstat {
namespace {

namespace v1 = admin::v1;

constexpr auto kCallTimeout = std::chrono::seconds(5);
constexpr int kUsageError = 2;
constexpr int kServiceError = 1;

// The token from --token or --token_file, read once in Main.
std::string& Token() {
  static std::string* const token = new std::string;
  return *token;
}

// Reads --token_file into Token(); false (after saying why) when it cannot.
bool LoadToken() {
  const std::string path = absl::GetFlag(FLAGS_token_file);
  Token() = absl::GetFlag(FLAGS_token);
  if (path.empty()) return true;
  if (!Token().empty()) {
    std::fprintf(stderr, "ringstat: --token and --token_file are exclusive\n");
    return false;
  }
  std::ifstream file(path, std::ios::binary);
  if (!file.is_open()) {
    std::fprintf(stderr, "ringstat: --token_file: cannot read %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return false;
  }
  std::stringstream content;
  content << file.rdbuf();
  std::string token = content.str();
  if (!token.empty() && token.back() == '\n') token.pop_back();
  if (!token.empty() && token.back() == '\r') token.pop_back();
  if (token.empty()) {
    std::fprintf(stderr, "ringstat: --token_file: %s is empty\n", path.c_str());
    return false;
  }
  Token() = std::move(token);
  return true;
}

void Authorize(grpc::ClientContext* context) {
  if (!Token().empty()) context->AddMetadata("authorization", "Bearer " + Token());
}

void PrepareUnary(grpc::ClientContext* context) {
  Authorize(context);
  context->set_deadline(std::chrono::system_clock::now() + kCallTimeout);
}

// Says what went wrong in terms of what to do about it; returns the exit code.
int ReportFailure(const grpc::Status& status) {
  const std::string admin = absl::GetFlag(FLAGS_admin);
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      std::fprintf(stderr,
                   "ringstat: cannot reach the admin service at %s: %s\n"
                   "  (is the server running with --admin_address=%s? use --admin=HOST:PORT)\n",
                   admin.c_str(), status.error_message().c_str(), admin.c_str());
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
      std::fprintf(stderr,
                   "ringstat: the admin service at %s refused the call: %s\n"
                   "  (%s)\n",
                   admin.c_str(), status.error_message().c_str(),
                   Token().empty()
                       ? "it requires a token: pass --token_file=<a file holding the server's "
                         "admin token>"
                       : "the token given is not the server's admin token");
      break;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      std::fprintf(stderr,
                   "ringstat: the admin service at %s is at a limit: %s\n"
                   "  (other clients hold its watches; retry later)\n",
                   admin.c_str(), status.error_message().c_str());
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      std::fprintf(stderr, "ringstat: no answer from %s within %lld s\n", admin.c_str(),
                   static_cast<long long>(kCallTimeout.count()));
      break;
    default:
      std::fprintf(stderr, "ringstat: %s (status %d)\n", status.error_message().c_str(),
                   static_cast<int>(status.error_code()));
  }
  return kServiceError;
}

void PrintJson(const google::protobuf::Message& message) {
  std::printf("%s\n", ToJson(message).c_str());
}

Column SortColumn(Column fallback) {
  Column column = fallback;
  if (const std::string name = absl::GetFlag(FLAGS_sort); !name.empty() &&
      !ParseColumn(name, &column)) {
    std::fprintf(stderr, "ringstat: unknown --sort column %s; using %s\n", name.c_str(),
                 ColumnName(fallback).c_str());
  }
  return column;
}

bool NaturallyDescending(Column column) { return column != Column::kId && column != Column::kPeer; }

int List(v1::RingAdmin::Stub& stub) {
  v1::ListConnectionsResponse all;
  v1::ListConnectionsRequest request;
  request.set_max_results(1000);
  if (const int reactor = absl::GetFlag(FLAGS_reactor); reactor >= 0) {
    request.set_reactor_id(static_cast<uint32_t>(reactor));
  }
  for (;;) {
    grpc::ClientContext context;
    PrepareUnary(&context);
    v1::ListConnectionsResponse page;
    if (grpc::Status status = stub.ListConnections(&context, request, &page); !status.ok()) {
      return ReportFailure(status);
    }
    for (v1::Connection& c : *page.mutable_connections()) *all.add_connections() = std::move(c);
    if (page.end() || page.connections_size() == 0) break;
    request.set_start_connection_id(all.connections().rbegin()->connection_id() + 1);
  }
  all.set_end(true);
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(all);
    return 0;
  }
  std::vector<ConnectionRow> rows;
  for (const v1::Connection& c : all.connections()) rows.push_back({c});
  const Column sort = SortColumn(Column::kId);
  const bool descending = NaturallyDescending(sort) != absl::GetFlag(FLAGS_reverse);
  SortRows(sort, descending, &rows);
  std::printf("%s%zu connection(s)\n",
              FormatConnectionTable(rows, ListColumns(), sort, rows.size()).c_str(),
              rows.size());
  return 0;
}

int Get(v1::RingAdmin::Stub& stub, const std::string& id_text) {
  uint64_t id;
  if (!absl::SimpleAtoi(id_text, &id)) {
    std::fprintf(stderr, "ringstat: get expects a connection id, got %s\n", id_text.c_str());
    return kUsageError;
  }
  grpc::ClientContext context;
  PrepareUnary(&context);
  v1::GetConnectionRequest request;
  request.set_connection_id(id);
  v1::GetConnectionResponse response;
  if (grpc::Status status = stub.GetConnection(&context, request, &response); !status.ok()) {
    return ReportFailure(status);
  }
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(response);
  } else {
    std::printf("%s", FormatConnectionDetail(response.connection()).c_str());
  }
  return 0;
}

int Server(v1::RingAdmin::Stub& stub) {
  grpc::ClientContext context;
  PrepareUnary(&context);
  v1::GetServerStatsResponse response;
  if (grpc::Status status = stub.GetServerStats(&context, {}, &response); !status.ok()) {
    return ReportFailure(status);
  }
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(response);
  } else {
    std::printf("%s", FormatServerStats(response).c_str());
  }
  return 0;
}

// Signals reach `top`'s poll loop as bytes on a pipe: 'q' to quit, 'w' to redraw.
volatile sig_atomic_t signal_pipe = -1;

void OnSignal(int signal_number) {
  const char byte = signal_number == SIGWINCH ? 'w' : 'q';
  if (signal_pipe >= 0) (void)!write(signal_pipe, &byte, 1);
}

// What `top` shows and how: the sort column moves over TopColumns() with the keys.
struct TopView {
  size_t sort_index = 0;
  bool reverse = false;
  Column sort() const { return TopColumns()[sort_index]; }
  bool descending() const { return NaturallyDescending(sort()) != reverse; }
};

std::string TopFrame(const v1::ConnectionsSnapshot& snapshot, std::vector<ConnectionRow> rows,
                     const TopView& view, int screen_rows) {
  const std::time_t now = std::time(nullptr);
  char clock[16];
  std::strftime(clock, sizeof(clock), "%H:%M:%S", std::localtime(&now));
  std::string frame = absl::StrFormat(
      "ringstat top  %s  %s  snapshot %u  every %d ms  %zu connection(s)\n"
      "sort: %s %s   keys: < > column  r reverse  q quit\n",
      absl::GetFlag(FLAGS_admin), clock, snapshot.sequence(), absl::GetFlag(FLAGS_interval_ms),
      rows.size(), ColumnName(view.sort()), view.descending() ? "descending" : "ascending");
  absl::StrAppend(&frame, FormatReactorLines(snapshot.reactors()), "\n");
  SortRows(view.sort(), view.descending(), &rows);
  const int used = 4 + snapshot.reactors_size();
  const size_t max_rows =
      screen_rows > 0 ? static_cast<size_t>(std::max(screen_rows - used, 1)) : rows.size();
  absl::StrAppend(&frame,
                  FormatConnectionTable(rows, TopColumns(), view.sort(), max_rows));
  return frame;
}

// Applies one key (or escape sequence) to the view; false when it means quit.
bool HandleKeys(const std::string& keys, TopView* view) {
  const size_t columns = TopColumns().size();
  for (size_t i = 0; i < keys.size(); ++i) {
    const char key = keys[i];
    if (key == 'q' || key == 'Q' || key == 0x03) return false;
    if (key == '\x1b' && i + 2 < keys.size() && keys[i + 1] == '[') {
      const char arrow = keys[i + 2];
      i += 2;
      if (arrow == 'C') view->sort_index = (view->sort_index + 1) % columns;
      if (arrow == 'D') view->sort_index = (view->sort_index + columns - 1) % columns;
      continue;
    }
    if (key == '>' || key == '.') view->sort_index = (view->sort_index + 1) % columns;
    if (key == '<' || key == ',') view->sort_index = (view->sort_index + columns - 1) % columns;
    if (key == 'r' || key == 'R') view->reverse = !view->reverse;
  }
  return true;
}

int Top(v1::RingAdmin::Stub& stub) {
  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    std::perror("ringstat: pipe");
    return kServiceError;
  }
  signal_pipe = wake[1];
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) signal(s, OnSignal);

  TopView view;
  const Column initial = SortColumn(Column::kRecvRate);
  for (size_t i = 0; i < TopColumns().size(); ++i) {
    if (TopColumns()[i] == initial) view.sort_index = i;
  }
  view.reverse = absl::GetFlag(FLAGS_reverse);

  grpc::ClientContext context;
  Authorize(&context);
  v1::WatchConnectionsRequest request;
  request.set_interval_ms(static_cast<uint32_t>(absl::GetFlag(FLAGS_interval_ms)));
  if (const int reactor = absl::GetFlag(FLAGS_reactor); reactor >= 0) {
    request.set_reactor_id(static_cast<uint32_t>(reactor));
  }
  std::unique_ptr<grpc::ClientReader<v1::ConnectionsSnapshot>> reader =
      stub.WatchConnections(&context, request);

  // The stream is read on its own thread; 'n' (new snapshot) or 'e' (stream ended) on the
  // pipe wakes the loop below, which also watches the keyboard.
  std::mutex mu;
  std::optional<v1::ConnectionsSnapshot> latest;
  std::thread stream_reader([&] {
    v1::ConnectionsSnapshot snapshot;
    while (reader->Read(&snapshot)) {
      {
        std::lock_guard<std::mutex> lock(mu);
        latest = snapshot;
      }
      (void)!write(wake[1], "n", 1);
    }
    (void)!write(wake[1], "e", 1);
  });

  const bool json = absl::GetFlag(FLAGS_json);
  const int frames_wanted = absl::GetFlag(FLAGS_frames);
  int frames = 0;
  bool stream_ended = false;
  bool quit = false;
  {
    std::optional<RawTerminal> terminal;
    if (!json) terminal.emplace(STDIN_FILENO, STDOUT_FILENO);
    const bool interactive = terminal && terminal->active();
    ConnectionRates rates;
    std::optional<v1::ConnectionsSnapshot> shown;
    std::vector<ConnectionRow> rows;
    while (!quit && !stream_ended) {
      pollfd fds[2] = {{wake[0], POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
      if (poll(fds, interactive ? 2 : 1, -1) < 0) continue;  // EINTR: the pipe has the news
      bool redraw = false;
      if (fds[1].revents & POLLIN) {
        char keys[32];
        const ssize_t n = read(STDIN_FILENO, keys, sizeof(keys));
        quit = n > 0 && !HandleKeys(std::string(keys, static_cast<size_t>(n)), &view);
        redraw = true;
      }
      char events[64];
      for (ssize_t n; (n = read(wake[0], events, sizeof(events))) > 0;) {
        for (ssize_t i = 0; i < n; ++i) {
          if (events[i] == 'q') quit = true;
          if (events[i] == 'e') stream_ended = true;
          if (events[i] == 'w') redraw = true;
          if (events[i] != 'n') continue;
          std::lock_guard<std::mutex> lock(mu);
          if (!latest) continue;
          shown = std::move(latest);
          latest.reset();
          rows = rates.Update(*shown, std::chrono::steady_clock::now());
          redraw = true;
          ++frames;
          if (json) std::printf("%s\n", ToJson(*shown).c_str());
        }
      }
      if (redraw && shown && !json && !quit) {
        const std::string frame =
            TopFrame(*shown, rows, view, interactive ? terminal->rows() : 0);
        if (interactive) {
          terminal->Draw(frame);
        } else {
          std::printf("%s\n", frame.c_str());
        }
      }
      std::fflush(stdout);
      if (frames_wanted > 0 && frames >= frames_wanted) quit = true;
    }
  }  // the terminal is restored before anything more is printed
  // Cancelling a stream that already ended would replace the server's status with ours.
  if (!stream_ended) context.TryCancel();
  stream_reader.join();
  const grpc::Status status = reader->Finish();
  signal_pipe = -1;
  close(wake[0]);
  close(wake[1]);
  if (quit && !stream_ended) return 0;
  if (quit && status.error_code() == grpc::StatusCode::CANCELLED) return 0;
  return ReportFailure(status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                  "the server ended the watch")
                                   : status);
}

int Main(const std::vector<char*>& args) {
  if (!LoadToken()) return kUsageError;
  const std::string command = args.size() > 1 ? args[1] : "";
  const size_t wanted_args = command == "get" ? 3 : 2;
  if (args.size() != wanted_args ||
      (command != "list" && command != "get" && command != "server" && command != "top")) {
    std::fprintf(stderr, "%s\n", std::string(absl::ProgramUsageMessage()).c_str());
    return kUsageError;
  }
  std::unique_ptr<v1::RingAdmin::Stub> stub = v1::RingAdmin::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_admin), grpc::InsecureChannelCredentials()));
  if (command == "list") return List(*stub);
  if (command == "get") return Get(*stub, args[2]);
  if (command == "server") return Server(*stub);
  return Top(*stub);
}

}  // namespace
}  // namespace ringside::ringstat

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "usage: ringstat [--admin=HOST:PORT] [--token_file=F | --token=T] [--json]\n"
      "                list | get ID | server | top\n"
      "  list     every live connection (--sort=COLUMN, --reverse, --reactor=N)\n"
      "  get ID   one connection with its per-buffer detail\n"
      "  server   per-reactor totals, mode, kernel features, configuration\n"
      "  top      live view: < > sort column, r reverse, q quit (--interval_ms, --frames)");
  return ringside::ringstat::Main(absl::ParseCommandLine(argc, argv));
}
