#include "ringside/tools/ringstat_view.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace ringside::ringstat {
namespace {

using admin::v1::Connection;

// How a column's cells are written and compared: exact integers, humanized counts, or text
// (compared as text).
enum class Kind { kExact, kHuman, kText };

struct ColumnSpec {
  Column column;
  const char* name;
  int width;
  Kind kind;
  double (*number)(const ConnectionRow&);  // kExact, kHuman
  std::string (*text)(const ConnectionRow&);  // kText
};

std::string RingText(const ConnectionRow& row) {
  const Connection& c = row.connection;
  if (!c.ring_attached()) return "idle";
  if (!c.incremental()) return "shared";
  return c.buffer_size() % 1024 == 0 ? absl::StrCat(c.ring_entries(), "x", c.buffer_size() / 1024, "K")
                                     : absl::StrCat(c.ring_entries(), "x", c.buffer_size());
}

template <auto kGetter>
double Counter(const ConnectionRow& row) {
  return static_cast<double>((row.connection.*kGetter)());
}

const ColumnSpec kColumns[] = {
    {Column::kId, "ID", 8, Kind::kExact, Counter<&Connection::connection_id>, nullptr},
    {Column::kReactor, "R", 3, Kind::kExact, Counter<&Connection::reactor_id>, nullptr},
    {Column::kPeer, "PEER", 21, Kind::kText, nullptr,
     [](const ConnectionRow& r) { return r.connection.peer(); }},
    {Column::kBgid, "BGID", 5, Kind::kExact, Counter<&Connection::bgid>, nullptr},
    {Column::kRing, "RING", 7, Kind::kText, nullptr, RingText},
    {Column::kRecvBytes, "RECV", 7, Kind::kHuman, Counter<&Connection::recv_bytes>, nullptr},
    {Column::kRecvRate, "RECV/s", 7, Kind::kHuman,
     [](const ConnectionRow& r) { return r.recv_bytes_per_second; }, nullptr},
    {Column::kCompletions, "CQES", 7, Kind::kHuman, Counter<&Connection::recv_completions>, nullptr},
    {Column::kBufMore, "BUFMORE", 7, Kind::kHuman, Counter<&Connection::buf_more_completions>, nullptr},
    {Column::kRecycled, "RECYC", 6, Kind::kHuman, Counter<&Connection::buffers_recycled>, nullptr},
    {Column::kEnobufs, "ENOBUF", 6, Kind::kHuman, Counter<&Connection::enobufs_stalls>, nullptr},
    {Column::kRearms, "REARM", 6, Kind::kHuman, Counter<&Connection::rearms>, nullptr},
    {Column::kStale, "STALE", 5, Kind::kHuman, Counter<&Connection::stale_releases>, nullptr},
    {Column::kHeld, "HELD", 4, Kind::kExact, Counter<&Connection::buffers_held>, nullptr},
    {Column::kSentBytes, "SENT", 7, Kind::kHuman, Counter<&Connection::bytes_sent>, nullptr},
    {Column::kRequests, "REQS", 7, Kind::kHuman, Counter<&Connection::requests>, nullptr},
    {Column::kRequestRate, "REQ/s", 7, Kind::kHuman,
     [](const ConnectionRow& r) { return r.requests_per_second; }, nullptr},
};

const ColumnSpec& Spec(Column column) {
  for (const ColumnSpec& spec : kColumns) {
    if (spec.column == column) return spec;
  }
  return kColumns[0];
}

std::string Cell(const ColumnSpec& spec, const ConnectionRow& row) {
  switch (spec.kind) {
    case Kind::kExact:
      return absl::StrCat(static_cast<uint64_t>(spec.number(row)));
    case Kind::kHuman:
      return HumanCount(spec.number(row));
    case Kind::kText:
      return spec.text(row);
  }
  return "";
}

}  // namespace

std::string ColumnName(Column column) { return Spec(column).name; }

bool ParseColumn(const std::string& name, Column* column) {
  for (const ColumnSpec& spec : kColumns) {
    if (absl::EqualsIgnoreCase(name, spec.name)) {
      *column = spec.column;
      return true;
    }
  }
  return false;
}

const std::vector<Column>& TopColumns() {
  static const std::vector<Column> columns = [] {
    std::vector<Column> all;
    for (const ColumnSpec& spec : kColumns) all.push_back(spec.column);
    return all;
  }();
  return columns;
}

const std::vector<Column>& ListColumns() {
  // Rates need two snapshots; a listing is one.
  static const std::vector<Column> columns = [] {
    std::vector<Column> counters;
    for (Column column : TopColumns()) {
      if (column != Column::kRecvRate && column != Column::kRequestRate) {
        counters.push_back(column);
      }
    }
    return counters;
  }();
  return columns;
}

void SortRows(Column column, bool descending, std::vector<ConnectionRow>* rows) {
  const ColumnSpec& spec = Spec(column);
  std::sort(rows->begin(), rows->end(), [](const ConnectionRow& a, const ConnectionRow& b) {
    return a.connection.connection_id() < b.connection.connection_id();
  });
  std::stable_sort(rows->begin(), rows->end(),
                   [&](const ConnectionRow& a, const ConnectionRow& b) {
                     const ConnectionRow& x = descending ? b : a;
                     const ConnectionRow& y = descending ? a : b;
                     if (spec.kind == Kind::kText) return spec.text(x) < spec.text(y);
                     return spec.number(x) < spec.number(y);
                   });
}

std::string FormatConnectionTable(const std::vector<ConnectionRow>& rows,
                                  const std::vector<Column>& columns, Column sort,
                                  size_t max_rows) {
  std::string out;
  for (Column column : columns) {
    const ColumnSpec& spec = Spec(column);
    // The sort column is starred; the order is the caller's to say.
    const std::string name = column == sort ? absl::StrCat("*", spec.name) : spec.name;
    absl::StrAppendFormat(&out, spec.kind == Kind::kText ? "%-*s " : "%*s ", spec.width, name);
  }
  out.back() = '\n';
  for (size_t i = 0; i < rows.size() && i < max_rows; ++i) {
    for (Column column : columns) {
      const ColumnSpec& spec = Spec(column);
      absl::StrAppendFormat(&out, spec.kind == Kind::kText ? "%-*s " : "%*s ", spec.width,
                            Cell(spec, rows[i]));
    }
    out.back() = '\n';
  }
  return out;
}

std::string FormatReactorLines(
    const google::protobuf::RepeatedPtrField<admin::v1::ReactorStats>& reactors) {
  std::string out;
  for (const admin::v1::ReactorStats& r : reactors) {
    absl::StrAppendFormat(
        &out,
        "reactor %u: %u conns (%s accepted, %s refused)  bgids %u used %u free  "
        "rings %s live %s pooled  relq %s (max %s)  cqes %s  loops %s  submits %s  "
        "enobufs %s  stale %s\n",
        r.reactor_id(), r.connections(), HumanCount(r.connections_accepted()),
        HumanCount(r.connections_refused()), r.bgids_in_use(), r.bgids_free(),
        HumanCount(r.rings_live()), HumanCount(r.pooled_rings()),
        HumanCount(r.release_queue_depth()), HumanCount(r.release_queue_high_water()),
        HumanCount(r.cqes()), HumanCount(r.loop_iterations()), HumanCount(r.submits()),
        HumanCount(r.enobufs_stalls()), HumanCount(r.stale_releases()));
  }
  return out;
}

std::string FormatServerStats(const admin::v1::GetServerStatsResponse& stats) {
  std::string out = absl::StrCat("mode: ", stats.effective_mode(), "  io_uring: ",
                                 absl::StrJoin(stats.kernel_features(), " "), "\n");
  if (!stats.fallback_reason().empty()) {
    absl::StrAppend(&out, "fallback: ", stats.fallback_reason(), "\n");
  }
  absl::StrAppend(&out, FormatReactorLines(stats.reactors()));
  const std::map<std::string, std::string> configuration(stats.configuration().begin(),
                                                         stats.configuration().end());
  absl::StrAppend(&out, "configuration:");
  for (const auto& [key, value] : configuration) absl::StrAppend(&out, " ", key, "=", value);
  absl::StrAppend(&out, "\n");
  return out;
}

std::string FormatConnectionDetail(const Connection& c) {
  std::string out = absl::StrFormat("connection %u  reactor %u  fd %d  peer %s\n",
                                    c.connection_id(), c.reactor_id(), c.fd(), c.peer());
  if (!c.ring_attached()) {
    absl::StrAppend(&out, "ring: none (idle: given back until bytes arrive)\n");
  } else {
    absl::StrAppendFormat(&out, "ring: %s  bgid %u  %u x %u bytes\n",
                          c.incremental() ? "incremental, its own" : "shared", c.bgid(),
                          c.ring_entries(), c.buffer_size());
  }
  absl::StrAppendFormat(
      &out,
      "recv_completions %u  recv_bytes %u  buf_more_completions %u  buffers_recycled %u  "
      "retired_bytes %u\n"
      "enobufs_stalls %u  rearms %u  stale_releases %u  buffers_held %u  bytes_sent %u  "
      "requests %u\n",
      c.recv_completions(), c.recv_bytes(), c.buf_more_completions(), c.buffers_recycled(),
      c.retired_bytes(), c.enobufs_stalls(), c.rearms(), c.stale_releases(), c.buffers_held(),
      c.bytes_sent(), c.requests());
  if (c.buffers_size() > 0) {
    absl::StrAppend(&out, "  BID   OFFSET  READERS  KERNEL_DONE\n");
    for (const admin::v1::BufferStats& b : c.buffers()) {
      absl::StrAppendFormat(&out, "%5u %8u %8u  %s\n", b.bid(), b.offset(), b.readers(),
                            b.kernel_done() ? "yes" : "no");
    }
  }
  return out;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

std::string HumanCount(double value) {
  if (value < 1000) return absl::StrFormat("%.0f", value);
  if (value < 1e6) return absl::StrFormat("%.1fK", value / 1e3);
  if (value < 1e9) return absl::StrFormat("%.1fM", value / 1e6);
  if (value < 1e12) return absl::StrFormat("%.1fG", value / 1e9);
  return absl::StrFormat("%.1fT", value / 1e12);
}

std::vector<ConnectionRow> ConnectionRates::Update(
    const admin::v1::ConnectionsSnapshot& snapshot, std::chrono::steady_clock::time_point now) {
  const double seconds = std::chrono::duration<double>(now - previous_time_).count();
  std::vector<ConnectionRow> rows;
  absl::flat_hash_map<uint64_t, Seen> seen;
  for (const Connection& c : snapshot.connections()) {
    ConnectionRow row{c};
    if (auto before = previous_.find(c.connection_id());
        before != previous_.end() && seconds > 0) {
      row.recv_bytes_per_second = (c.recv_bytes() - before->second.recv_bytes) / seconds;
      row.requests_per_second = (c.requests() - before->second.requests) / seconds;
    }
    seen[c.connection_id()] = {c.recv_bytes(), c.requests()};
    rows.push_back(std::move(row));
  }
  previous_ = std::move(seen);
  previous_time_ = now;
  return rows;
}

}  // namespace ringside::ringstat
