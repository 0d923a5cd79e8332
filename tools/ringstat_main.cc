// ringstat: the command-line client of the ringside admin service (admin.proto).
//
//   ringstat [--admin=HOST:PORT[,HOST:PORT...] | --admin_file=F] [--token_file=F | --token=T]
//            [--json] list | get ID | server | top
//
// list: every live connection, paged through ListConnections. get ID: one connection with
// its per-buffer detail. server: per-reactor totals, mode, kernel features, configuration.
// top: a live view fed by WatchConnections; keys < > (or arrows) choose the sort column,
// r reverses, q or Ctrl-C quits. --json prints proto3 JSON (top: one object per snapshot).
//
// A fleet: several addresses in --admin (commas) or an --admin_file. list, server and top
// then ask every instance (with the same token), show an INSTANCE column and a line per
// instance with totals across them; an instance that does not answer is shown as down and
// the others are still shown. Exit status: 0 when every instance answered, 3 when some did
// not (what the others said is shown), 1 when none did or a single server failed, 2 for a
// usage error. `get` takes one instance.
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
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "ringside/services/admin/admin.grpc.pb.h"
#include "ringside/tools/raw_terminal.h"
#include "ringside/tools/ringstat_view.h"

ABSL_FLAG(std::string, admin, "127.0.0.1:9900",
          "the admin service, HOST:PORT; a fleet: several, separated by commas");
ABSL_FLAG(std::string, admin_file, "",
          "a fleet's admin addresses from a file (separated by commas, spaces or lines; # "
          "starts a comment); replaces --admin");
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
constexpr int kSomeDown = 3;  // a fleet: some instances did not answer; the others shown

// One admin service ringstat talks to.
struct Instance {
  std::string address;
  std::unique_ptr<v1::RingAdmin::Stub> stub;
};

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

// What went wrong, in terms of what to do about it: "ringstat: ..." lines.
std::string Explain(const grpc::Status& status, const std::string& admin) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return absl::StrFormat(
          "ringstat: cannot reach the admin service at %s: %s\n"
          "  (is the server running with --admin_address=%s? use --admin=HOST:PORT)\n",
          admin, status.error_message(), admin);
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::StrFormat(
          "ringstat: the admin service at %s refused the call: %s\n  (%s)\n", admin,
          status.error_message(),
          Token().empty() ? "it requires a token: pass --token_file=<a file holding the "
                            "server's admin token>"
                          : "the token given is not the server's admin token");
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return absl::StrFormat(
          "ringstat: the admin service at %s is at a limit: %s\n"
          "  (other clients hold its watches; retry later)\n",
          admin, status.error_message());
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StrFormat("ringstat: no answer from %s within %d s\n", admin,
                             static_cast<long long>(kCallTimeout.count()));
    default:
      return absl::StrFormat("ringstat: %s (status %d)\n", status.error_message(),
                             static_cast<int>(status.error_code()));
  }
}

// Prints Explain(); returns the exit code.
int ReportFailure(const grpc::Status& status, const std::string& admin) {
  std::fprintf(stderr, "%s", Explain(status, admin).c_str());
  return kServiceError;
}

// Why a fleet's instance is down, in one line: Explain's first, without the prefix.
std::string DownReason(const grpc::Status& status, const std::string& admin) {
  std::string text = Explain(status, admin);
  text = text.substr(0, text.find('\n'));
  constexpr absl::string_view kPrefix = "ringstat: ";
  return absl::StartsWith(text, kPrefix) ? text.substr(kPrefix.size()) : text;
}

// The exit status of a fleet command: see the header comment.
int FleetExit(size_t up, size_t instances) {
  return up == instances ? 0 : up == 0 ? kServiceError : kSomeDown;
}

// {"instances": [{"instance": ADDRESS, "up": true, KEY: MESSAGE} or {..., "up": false,
// "error": WHY}, ...]}: a fleet's --json, one object for every instance.
class FleetJson {
 public:
  void Add(const std::string& instance, const std::string& key,
           const google::protobuf::Message& message) {
    google::protobuf::Struct* entry = Entry(instance, true);
    (void)google::protobuf::util::JsonStringToMessage(
        ToJson(message), (*entry->mutable_fields())[key].mutable_struct_value());
  }
  void AddDown(const std::string& instance, const std::string& error) {
    (*Entry(instance, false)->mutable_fields())["error"].set_string_value(error);
  }
  std::string Json() const { return ToJson(root_); }

 private:
  google::protobuf::Struct* Entry(const std::string& instance, bool up) {
    google::protobuf::Struct* entry = (*root_.mutable_fields())["instances"]
                                          .mutable_list_value()
                                          ->add_values()
                                          ->mutable_struct_value();
    (*entry->mutable_fields())["instance"].set_string_value(instance);
    (*entry->mutable_fields())["up"].set_bool_value(up);
    return entry;
  }
  google::protobuf::Struct root_;
};

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

// Every live connection of one server, paged through ListConnections.
grpc::Status FetchConnections(v1::RingAdmin::Stub& stub, v1::ListConnectionsResponse* all) {
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
      return status;
    }
    for (v1::Connection& c : *page.mutable_connections()) *all->add_connections() = std::move(c);
    if (page.end() || page.connections_size() == 0) break;
    request.set_start_connection_id(all->connections().rbegin()->connection_id() + 1);
  }
  all->set_end(true);
  return grpc::Status::OK;
}

int List(const std::vector<Instance>& instances, bool fleet) {
  std::vector<ConnectionRow> rows;
  std::vector<std::string> down;
  FleetJson json;
  for (const Instance& instance : instances) {
    v1::ListConnectionsResponse all;
    if (grpc::Status status = FetchConnections(*instance.stub, &all); !status.ok()) {
      if (!fleet) return ReportFailure(status, instance.address);
      down.push_back(absl::StrCat(instance.address, " down: ",
                                  DownReason(status, instance.address)));
      json.AddDown(instance.address, down.back());
      continue;
    }
    if (absl::GetFlag(FLAGS_json)) {
      if (!fleet) {
        PrintJson(all);
        return 0;
      }
      json.Add(instance.address, "listing", all);
      continue;
    }
    for (const v1::Connection& c : all.connections()) {
      rows.push_back({.connection = c, .instance = fleet ? instance.address : ""});
    }
  }
  const size_t up = instances.size() - down.size();
  if (absl::GetFlag(FLAGS_json)) {
    std::printf("%s\n", json.Json().c_str());
    return FleetExit(up, instances.size());
  }
  const Column sort = SortColumn(Column::kId);
  const bool descending = NaturallyDescending(sort) != absl::GetFlag(FLAGS_reverse);
  SortRows(sort, descending, &rows);
  const std::vector<Column> columns = fleet ? WithInstance(ListColumns()) : ListColumns();
  std::printf("%s%zu connection(s)", FormatConnectionTable(rows, columns, sort, rows.size()).c_str(),
              rows.size());
  if (!fleet) {
    std::printf("\n");
    return 0;
  }
  std::printf(" on %zu of %zu instance(s)\n", up, instances.size());
  for (const std::string& line : down) std::printf("%s\n", line.c_str());
  return FleetExit(up, instances.size());
}

int Get(const Instance& instance, const std::string& id_text) {
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
  if (grpc::Status status = instance.stub->GetConnection(&context, request, &response);
      !status.ok()) {
    return ReportFailure(status, instance.address);
  }
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(response);
  } else {
    std::printf("%s", FormatConnectionDetail(response.connection()).c_str());
  }
  return 0;
}

int Server(const std::vector<Instance>& instances, bool fleet) {
  std::vector<InstanceStats> summary;
  FleetJson json;
  std::string text;
  for (const Instance& instance : instances) {
    grpc::ClientContext context;
    PrepareUnary(&context);
    v1::GetServerStatsResponse response;
    if (grpc::Status status = instance.stub->GetServerStats(&context, {}, &response);
        !status.ok()) {
      if (!fleet) return ReportFailure(status, instance.address);
      summary.push_back({.instance = instance.address,
                         .error = DownReason(status, instance.address)});
      json.AddDown(instance.address, summary.back().error);
      absl::StrAppend(&text, "== ", instance.address, ": down: ", summary.back().error, "\n");
      continue;
    }
    if (!fleet) {
      std::printf("%s", absl::GetFlag(FLAGS_json) ? (ToJson(response) + "\n").c_str()
                                                  : FormatServerStats(response).c_str());
      return 0;
    }
    summary.push_back({.instance = instance.address, .up = true, .reactors = response.reactors()});
    json.Add(instance.address, "stats", response);
    absl::StrAppend(&text, "== ", instance.address, "\n", FormatServerStats(response));
  }
  if (absl::GetFlag(FLAGS_json)) {
    std::printf("%s\n", json.Json().c_str());
  } else {
    std::printf("%s== fleet\n%s", text.c_str(), FormatFleetLines(summary).c_str());
  }
  size_t up = 0;
  for (const InstanceStats& s : summary) up += s.up;
  return FleetExit(up, instances.size());
}

// Signals reach `top`'s poll loop as bytes on a pipe: 'q' to quit, 'w' to redraw.
volatile sig_atomic_t signal_pipe = -1;

void OnSignal(int signal_number) {
  const char byte = signal_number == SIGWINCH ? 'w' : 'q';
  if (signal_pipe >= 0) (void)!write(signal_pipe, &byte, 1);
}

// What `top` shows and how: the sort column moves over `columns` with the keys.
struct TopView {
  std::vector<Column> columns;  // TopColumns(), or WithInstance(TopColumns()) for a fleet
  size_t sort_index = 0;
  bool reverse = false;
  Column sort() const { return columns[sort_index]; }
  bool descending() const { return NaturallyDescending(sort()) != reverse; }
};

// One instance's WatchConnections: read on a thread of its own, which wakes the loop of
// Top with 'n' (a new snapshot) or 'e' (the stream ended) on the pipe.
struct Watch {
  const Instance* instance = nullptr;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::ConnectionsSnapshot>> reader;
  std::thread thread;
  std::mutex mu;
  std::optional<v1::ConnectionsSnapshot> latest;  // guarded by mu
  bool ended = false;                             // guarded by mu
  // Top's loop only.
  bool finished = false;  // ended, and its status taken
  grpc::Status status;
  std::optional<v1::ConnectionsSnapshot> shown;
  ConnectionRates rates;
  std::vector<ConnectionRow> rows;
};

std::string TopFrame(const std::vector<std::unique_ptr<Watch>>& watches, bool fleet,
                     const TopView& view, int screen_rows) {
  const std::time_t now = std::time(nullptr);
  char clock[16];
  std::strftime(clock, sizeof(clock), "%H:%M:%S", std::localtime(&now));
  std::vector<ConnectionRow> rows;
  for (const auto& watch : watches) rows.insert(rows.end(), watch->rows.begin(), watch->rows.end());
  std::string frame;
  std::string summary;
  if (fleet) {
    std::vector<InstanceStats> instances;
    for (const auto& watch : watches) {
      InstanceStats stats{.instance = watch->instance->address, .up = !watch->finished};
      if (watch->finished) stats.error = DownReason(watch->status, stats.instance);
      if (watch->shown && !watch->finished) stats.reactors = watch->shown->reactors();
      instances.push_back(std::move(stats));
    }
    frame = absl::StrFormat("ringstat top  %zu instances  %s  every %d ms  %zu connection(s)\n",
                            watches.size(), clock, absl::GetFlag(FLAGS_interval_ms), rows.size());
    summary = FormatFleetLines(instances);
  } else {
    const v1::ConnectionsSnapshot& snapshot = *watches.front()->shown;
    frame = absl::StrFormat("ringstat top  %s  %s  snapshot %u  every %d ms  %zu connection(s)\n",
                            absl::GetFlag(FLAGS_admin), clock, snapshot.sequence(),
                            absl::GetFlag(FLAGS_interval_ms), rows.size());
    summary = FormatReactorLines(snapshot.reactors());
  }
  absl::StrAppendFormat(&frame, "sort: %s %s   keys: < > column  r reverse  q quit\n",
                        ColumnName(view.sort()), view.descending() ? "descending" : "ascending");
  absl::StrAppend(&frame, summary, "\n");
  SortRows(view.sort(), view.descending(), &rows);
  const int used = 3 + static_cast<int>(std::count(summary.begin(), summary.end(), '\n'));
  const size_t max_rows =
      screen_rows > 0 ? static_cast<size_t>(std::max(screen_rows - used, 1)) : rows.size();
  absl::StrAppend(&frame, FormatConnectionTable(rows, view.columns, view.sort(), max_rows));
  return frame;
}

// Applies one key (or escape sequence) to the view; false when it means quit.
bool HandleKeys(const std::string& keys, TopView* view) {
  const size_t columns = view->columns.size();
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

// Starts `instance`'s watch and the thread that reads it.
std::unique_ptr<Watch> StartWatch(const Instance& instance, int wake_fd) {
  auto watch = std::make_unique<Watch>();
  watch->instance = &instance;
  Authorize(&watch->context);
  v1::WatchConnectionsRequest request;
  request.set_interval_ms(static_cast<uint32_t>(absl::GetFlag(FLAGS_interval_ms)));
  if (const int reactor = absl::GetFlag(FLAGS_reactor); reactor >= 0) {
    request.set_reactor_id(static_cast<uint32_t>(reactor));
  }
  watch->reader = instance.stub->WatchConnections(&watch->context, request);
  watch->thread = std::thread([w = watch.get(), wake_fd] {
    v1::ConnectionsSnapshot snapshot;
    while (w->reader->Read(&snapshot)) {
      {
        std::lock_guard<std::mutex> lock(w->mu);
        w->latest = snapshot;
      }
      (void)!write(wake_fd, "n", 1);
    }
    {
      std::lock_guard<std::mutex> lock(w->mu);
      w->ended = true;
    }
    (void)!write(wake_fd, "e", 1);
  });
  return watch;
}

// Takes what the watch's thread left: a new snapshot (true), or its end (then its status).
bool TakeNews(Watch& watch, bool fleet) {
  std::optional<v1::ConnectionsSnapshot> latest;
  bool ended = false;
  {
    std::lock_guard<std::mutex> lock(watch.mu);
    latest = std::move(watch.latest);
    watch.latest.reset();
    ended = watch.ended;
  }
  if (latest) {
    watch.rows = watch.rates.Update(*latest, std::chrono::steady_clock::now());
    if (fleet) {
      for (ConnectionRow& row : watch.rows) row.instance = watch.instance->address;
    }
    watch.shown = std::move(latest);
  }
  if (ended && !watch.finished) {
    watch.thread.join();
    watch.status = watch.reader->Finish();
    if (watch.status.ok()) {
      watch.status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server ended the watch");
    }
    watch.finished = true;
    watch.rows.clear();  // a down instance's connections are not shown as if current
  }
  return latest.has_value();
}

int Top(const std::vector<Instance>& instances, bool fleet) {
  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    std::perror("ringstat: pipe");
    return kServiceError;
  }
  signal_pipe = wake[1];
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) signal(s, OnSignal);

  TopView view{.columns = fleet ? WithInstance(TopColumns()) : TopColumns()};
  const Column initial = SortColumn(Column::kRecvRate);
  for (size_t i = 0; i < view.columns.size(); ++i) {
    if (view.columns[i] == initial) view.sort_index = i;
  }
  view.reverse = absl::GetFlag(FLAGS_reverse);

  std::vector<std::unique_ptr<Watch>> watches;
  for (const Instance& instance : instances) watches.push_back(StartWatch(instance, wake[1]));

  const bool json = absl::GetFlag(FLAGS_json);
  const int frames_wanted = absl::GetFlag(FLAGS_frames);
  int frames = 0;
  bool quit = false;
  auto all_finished = [&] {
    return std::all_of(watches.begin(), watches.end(), [](const auto& w) { return w->finished; });
  };
  {
    std::optional<RawTerminal> terminal;
    if (!json) terminal.emplace(STDIN_FILENO, STDOUT_FILENO);
    const bool interactive = terminal && terminal->active();
    bool any_shown = false;
    while (!quit && !all_finished()) {
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
      bool news = false;
      for (ssize_t n; (n = read(wake[0], events, sizeof(events))) > 0;) {
        for (ssize_t i = 0; i < n; ++i) {
          if (events[i] == 'q') quit = true;
          if (events[i] == 'w') redraw = true;
          news |= events[i] == 'n' || events[i] == 'e';
        }
      }
      if (news) {
        for (auto& watch : watches) {
          if (!TakeNews(*watch, fleet)) continue;
          redraw = true;
          any_shown = true;
          ++frames;
          if (!json) continue;
          if (fleet) {
            FleetJson one;
            one.Add(watch->instance->address, "snapshot", *watch->shown);
            std::printf("%s\n", one.Json().c_str());
          } else {
            std::printf("%s\n", ToJson(*watch->shown).c_str());
          }
        }
        // A fleet shows an instance going down at once; one server's end is the end.
        redraw |= fleet;
      }
      if (redraw && any_shown && !json && !quit && (fleet || !all_finished())) {
        const std::string frame =
            TopFrame(watches, fleet, view, interactive ? terminal->rows() : 0);
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
  size_t up = 0;
  for (auto& watch : watches) {
    // Cancelling a stream that already ended would replace the server's status with ours.
    if (!watch->finished) {
      watch->context.TryCancel();
      watch->thread.join();
      (void)watch->reader->Finish();  // CANCELLED: by us
      ++up;
    }
  }
  signal_pipe = -1;
  close(wake[0]);
  close(wake[1]);
  if (fleet) {
    for (auto& watch : watches) {
      if (watch->finished) {
        std::fprintf(stderr, "ringstat: %s down: %s\n", watch->instance->address.c_str(),
                     DownReason(watch->status, watch->instance->address).c_str());
      }
    }
    return FleetExit(up, watches.size());
  }
  if (quit && up == 1) return 0;
  const Watch& only = *watches.front();
  if (quit && only.status.error_code() == grpc::StatusCode::CANCELLED) return 0;
  return ReportFailure(only.status, only.instance->address);
}

// The instances from --admin_file, else --admin; false (after saying why) when none.
bool LoadInstances(std::vector<Instance>* instances, bool* fleet) {
  std::string text = absl::GetFlag(FLAGS_admin);
  const std::string path = absl::GetFlag(FLAGS_admin_file);
  if (!path.empty()) {
    std::ifstream file(path);
    if (!file.is_open()) {
      std::fprintf(stderr, "ringstat: --admin_file: cannot read %s: %s\n", path.c_str(),
                   std::strerror(errno));
      return false;
    }
    std::stringstream content;
    content << file.rdbuf();
    text = content.str();
  }
  const std::vector<std::string> addresses = ParseInstances(text);
  if (addresses.empty()) {
    std::fprintf(stderr, "ringstat: no admin address given (%s)\n",
                 path.empty() ? "--admin is empty" : ("--admin_file " + path + " lists none").c_str());
    return false;
  }
  *fleet = addresses.size() > 1 || !path.empty();
  for (const std::string& address : addresses) {
    instances->push_back({.address = address,
                          .stub = v1::RingAdmin::NewStub(grpc::CreateChannel(
                              address, grpc::InsecureChannelCredentials()))});
  }
  return true;
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
  std::vector<Instance> instances;
  bool fleet = false;
  if (!LoadInstances(&instances, &fleet)) return kUsageError;
  if (command == "get") {
    if (fleet) {
      std::fprintf(stderr, "ringstat: get takes one server: connection ids are per server\n");
      return kUsageError;
    }
    return Get(instances.front(), args[2]);
  }
  if (command == "list") return List(instances, fleet);
  if (command == "server") return Server(instances, fleet);
  return Top(instances, fleet);
}

}  // namespace
}  // namespace ringside::ringstat

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "usage: ringstat [--admin=HOST:PORT[,HOST:PORT...] | --admin_file=F]\n"
      "                [--token_file=F | --token=T] [--json] list | get ID | server | top\n"
      "  list     every live connection (--sort=COLUMN, --reverse, --reactor=N)\n"
      "  get ID   one connection with its per-buffer detail\n"
      "  server   per-reactor totals, mode, kernel features, configuration\n"
      "  top      live view: < > sort column, r reverse, q quit (--interval_ms, --frames)\n"
      "several addresses (a fleet): list, server and top ask every instance; exit status 0\n"
      "when all answered, 3 when some are down (shown as such), 1 when none answered");
  return ringside::ringstat::Main(absl::ParseCommandLine(argc, argv));
}
