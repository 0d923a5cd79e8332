#include "ringside/tools/ringstat_view.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace ringside::ringstat {
namespace {

using admin::v1::Connection;

ConnectionRow Row(uint64_t id, uint64_t recv_bytes, const std::string& peer) {
  ConnectionRow row;
  row.connection.set_connection_id(id);
  row.connection.set_recv_bytes(recv_bytes);
  row.connection.set_peer(peer);
  return row;
}

std::vector<uint64_t> Ids(const std::vector<ConnectionRow>& rows) {
  std::vector<uint64_t> ids;
  for (const ConnectionRow& row : rows) ids.push_back(row.connection.connection_id());
  return ids;
}

TEST(RingstatViewTest, SortsOnAnyColumnWithTiesInIdOrder) {
  std::vector<ConnectionRow> rows = {Row(4, 10, "b:1"), Row(2, 30, "a:9"), Row(3, 10, "c:5"),
                                     Row(1, 20, "a:1")};
  SortRows(Column::kRecvBytes, /*descending=*/true, &rows);
  EXPECT_EQ(Ids(rows), (std::vector<uint64_t>{2, 1, 3, 4}));
  SortRows(Column::kRecvBytes, /*descending=*/false, &rows);
  EXPECT_EQ(Ids(rows), (std::vector<uint64_t>{3, 4, 1, 2}));
  SortRows(Column::kPeer, /*descending=*/false, &rows);
  EXPECT_EQ(Ids(rows), (std::vector<uint64_t>{1, 2, 4, 3}));
  SortRows(Column::kId, /*descending=*/false, &rows);
  EXPECT_EQ(Ids(rows), (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST(RingstatViewTest, ParsesColumnHeadingsCaseInsensitively) {
  Column column;
  ASSERT_TRUE(ParseColumn("recv/s", &column));
  EXPECT_EQ(column, Column::kRecvRate);
  ASSERT_TRUE(ParseColumn("ENOBUF", &column));
  EXPECT_EQ(column, Column::kEnobufs);
  EXPECT_FALSE(ParseColumn("nonsense", &column));
  for (Column c : TopColumns()) {
    Column parsed;
    ASSERT_TRUE(ParseColumn(ColumnName(c), &parsed)) << ColumnName(c);
    EXPECT_EQ(parsed, c);
  }
}

TEST(RingstatViewTest, TableStarsTheSortColumnAndStopsAtMaxRows) {
  std::vector<ConnectionRow> rows = {Row(1, 1500, "127.0.0.1:1"), Row(2, 2500000, "127.0.0.1:2"),
                                     Row(3, 7, "127.0.0.1:3")};
  const std::string table = FormatConnectionTable(rows, ListColumns(), Column::kRecvBytes, 2);
  EXPECT_NE(table.find("*RECV"), std::string::npos);
  EXPECT_NE(table.find("1.5K"), std::string::npos);
  EXPECT_NE(table.find("2.5M"), std::string::npos);
  EXPECT_EQ(table.find("127.0.0.1:3"), std::string::npos);
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 3);
}

TEST(RingstatViewTest, HumanCounts) {
  EXPECT_EQ(HumanCount(0), "0");
  EXPECT_EQ(HumanCount(999), "999");
  EXPECT_EQ(HumanCount(1000), "1.0K");
  EXPECT_EQ(HumanCount(12345678), "12.3M");
  EXPECT_EQ(HumanCount(4.2e9), "4.2G");
}

TEST(RingstatViewTest, JsonUsesProtoFieldNamesAndPrintsEveryField) {
  admin::v1::ListConnectionsResponse response;
  response.add_connections()->set_connection_id(7);
  const std::string json = ToJson(response);
  EXPECT_NE(json.find(R"("connection_id":"7")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("enobufs_stalls":"0")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("end":false)"), std::string::npos) << json;
}

TEST(RingstatViewTest, RatesComeFromSuccessiveSnapshots) {
  ConnectionRates rates;
  const auto start = std::chrono::steady_clock::now();
  admin::v1::ConnectionsSnapshot snapshot;
  Connection* c = snapshot.add_connections();
  c->set_connection_id(1);
  c->set_recv_bytes(100);
  c->set_requests(1);
  std::vector<ConnectionRow> rows = rates.Update(snapshot, start);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].recv_bytes_per_second, 0);

  c->set_recv_bytes(2100);
  c->set_requests(21);
  snapshot.add_connections()->set_connection_id(2);
  rows = rates.Update(snapshot, start + std::chrono::seconds(2));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[0].recv_bytes_per_second, 1000);
  EXPECT_DOUBLE_EQ(rows[0].requests_per_second, 10);
  EXPECT_EQ(rows[1].recv_bytes_per_second, 0) << "a new connection has no rate yet";
}

TEST(RingstatViewTest, DetailListsEveryBuffer) {
  Connection c;
  c.set_connection_id(9);
  c.set_incremental(true);
  c.set_ring_attached(true);
  for (uint32_t bid = 0; bid < 4; ++bid) {
    admin::v1::BufferStats* b = c.add_buffers();
    b->set_bid(bid);
    b->set_offset(bid * 100);
    b->set_readers(bid == 1);
    b->set_kernel_done(bid == 1);
  }
  const std::string detail = FormatConnectionDetail(c);
  EXPECT_NE(detail.find("connection 9"), std::string::npos);
  EXPECT_NE(detail.find("    1      100        1  yes"), std::string::npos) << detail;
  EXPECT_NE(detail.find("    3      300        0  no"), std::string::npos) << detail;
}

}  // namespace
}  // namespace ringside::ringstat
