// ringstat_view.h: how ringstat shows admin-service answers: text tables for people, JSON
// for scripts, and the sortable connection table of `ringstat top`.
//
//   std::vector<ConnectionRow> rows = rates.Update(snapshot, now);   // top: with rates
//   SortRows(Column::kRecvBytes, /*descending=*/true, &rows);
//   std::cout << FormatConnectionTable(rows, TopColumns(), Column::kRecvBytes, 40);
//   std::cout << ToJson(list_response);                              // --json
//
// Pure functions over the admin.proto messages (no I/O). Thread-compatible.
#ifndef RINGSIDE_TOOLS_RINGSTAT_VIEW_H_
#define RINGSIDE_TOOLS_RINGSTAT_VIEW_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "ringside/services/admin/admin.pb.h"

namespace ringside::ringstat {

// A connection and its rates since the previous snapshot (0 on its first).
struct ConnectionRow {
  admin::v1::Connection connection;
  double recv_bytes_per_second = 0;
  double requests_per_second = 0;
};

// The connection table's columns; every one can be sorted on.
enum class Column {
  kId,
  kReactor,
  kPeer,
  kBgid,
  kRing,          // attached ring: entries x buffer size; "idle" when given back
  kRecvBytes,
  kRecvRate,
  kCompletions,
  kBufMore,
  kRecycled,
  kEnobufs,
  kRearms,
  kStale,
  kHeld,
  kSentBytes,
  kRequests,
  kRequestRate,
};

// Column heading as shown, e.g. "RECV" for kRecvBytes.
std::string ColumnName(Column column);
// The column named `name` (a heading, case-insensitive); false if there is none.
bool ParseColumn(const std::string& name, Column* column);
// `top` shows every column in declaration order; `list` the same without the rates.
const std::vector<Column>& ListColumns();
const std::vector<Column>& TopColumns();

// Stable sort on `column`; ties keep connection-id order.
void SortRows(Column column, bool descending, std::vector<ConnectionRow>* rows);

// A header line and at most `max_rows` rows; the sort column's heading is starred.
std::string FormatConnectionTable(const std::vector<ConnectionRow>& rows,
                                  const std::vector<Column>& columns, Column sort,
                                  size_t max_rows);
// One line per reactor: connections, bgids, queue depth, CQEs, loop iterations, ...
std::string FormatReactorLines(const google::protobuf::RepeatedPtrField<admin::v1::ReactorStats>&);
std::string FormatServerStats(const admin::v1::GetServerStatsResponse& stats);
// Every counter of one connection and its per-buffer table.
std::string FormatConnectionDetail(const admin::v1::Connection& connection);

// Proto3 JSON with the .proto field names and every field present (64-bit integers are
// strings, as proto3 JSON specifies).
std::string ToJson(const google::protobuf::Message& message);

// "12.3K", "4.0M": counts and byte sizes in a fixed narrow width.
std::string HumanCount(double value);

// Turns successive watch snapshots into rows with per-second rates.
class ConnectionRates {
 public:
  std::vector<ConnectionRow> Update(const admin::v1::ConnectionsSnapshot& snapshot,
                                    std::chrono::steady_clock::time_point now);

 private:
  struct Seen {
    uint64_t recv_bytes;
    uint64_t requests;
  };
  absl::flat_hash_map<uint64_t, Seen> previous_;
  std::chrono::steady_clock::time_point previous_time_;
};

}  // namespace ringside::ringstat

#endif  // RINGSIDE_TOOLS_RINGSTAT_VIEW_H_
