#include "ringside/reactor/proxy_header.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <string>

#include "ringside/reactor/sockets.h"

namespace ringside {
namespace {

using Status = ProxyHeader::Status;
using namespace std::string_literals;

const std::string kV2Signature = "\r\n\r\n\0\r\nQUIT\n"s;

// A v2 header: command (0 LOCAL, 1 PROXY), family and transport byte, then `body`.
std::string V2(uint8_t command, uint8_t family, const std::string& body) {
  return kV2Signature + static_cast<char>(0x20 | command) + static_cast<char>(family) +
         static_cast<char>(body.size() >> 8) + static_cast<char>(body.size() & 0xff) + body;
}

std::string Inet(const char* source, uint16_t source_port) {
  std::string body(12, '\0');
  inet_pton(AF_INET, source, body.data());
  inet_pton(AF_INET, "10.9.9.9", body.data() + 4);
  body[8] = static_cast<char>(source_port >> 8);
  body[9] = static_cast<char>(source_port & 0xff);
  body[11] = 80;
  return body;
}

std::string Inet6(const char* source, uint16_t source_port) {
  std::string body(36, '\0');
  inet_pton(AF_INET6, source, body.data());
  inet_pton(AF_INET6, "::2", body.data() + 16);
  body[32] = static_cast<char>(source_port >> 8);
  body[33] = static_cast<char>(source_port & 0xff);
  return body;
}

std::string Source(const ProxyHeader& h) {
  return h.source.ss_family == AF_UNSPEC ? "socket peer" : AddressName(h.source);
}

TEST(ProxyHeaderTest, V1Tcp4NamesTheClientAndLeavesTheRequest) {
  const std::string header = "PROXY TCP4 192.0.2.1 198.51.100.2 51234 8080\r\n";
  const ProxyHeader h = ParseProxyHeader(header + "GET / HTTP/1.1\r\n", ProxyVersions::kV1);
  ASSERT_EQ(h.status, Status::kComplete);
  EXPECT_EQ(h.size, header.size());
  EXPECT_EQ(h.version, 1);
  EXPECT_EQ(Source(h), "192.0.2.1:51234");
}

TEST(ProxyHeaderTest, V1Tcp6) {
  const ProxyHeader h =
      ParseProxyHeader("PROXY TCP6 2001:db8::1 ::1 65535 443\r\n", ProxyVersions::kAny);
  ASSERT_EQ(h.status, Status::kComplete);
  EXPECT_EQ(Source(h), "[2001:db8::1]:65535");
}

TEST(ProxyHeaderTest, V1UnknownKeepsTheSocketPeer) {
  for (const char* line : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ::1 ::2 1 2\r\n"}) {
    const ProxyHeader h = ParseProxyHeader(line, ProxyVersions::kV1);
    ASSERT_EQ(h.status, Status::kComplete) << line;
    EXPECT_EQ(Source(h), "socket peer");
  }
}

TEST(ProxyHeaderTest, V1MalformedIsRefused) {
  for (const char* line : {
           "PROXY TCP4 1.2.3.4 5.6.7.8 80 80\n",        // bare LF
           "PROXY TCP4 1.2.3.4  5.6.7.8 80 80\r\n",     // two spaces
           "PROXY TCP4 1.2.3.4 5.6.7.8 80\r\n",         // a field missing
           "PROXY TCP4 1.2.3.4 5.6.7.8 80 80 9\r\n",    // one too many
           "PROXY TCP4 1.2.3.4 5.6.7.8 080 80\r\n",     // leading zero
           "PROXY TCP4 1.2.3.4 5.6.7.8 65536 80\r\n",   // port out of range
           "PROXY TCP4 1.2.3.4 5.6.7.8 -1 80\r\n",
           "PROXY TCP4 ::1 5.6.7.8 80 80\r\n",          // family mismatch
           "PROXY TCP6 1.2.3.4 ::1 80 80\r\n",
           "PROXY TCP4 1.2.3 5.6.7.8 80 80\r\n",
           "PROXY UDP4 1.2.3.4 5.6.7.8 80 80\r\n",
           "PROXY \r\n",
           "PROXY UNKNOWNX\r\n",
       }) {
    EXPECT_EQ(ParseProxyHeader(line, ProxyVersions::kV1).status, Status::kMalformed) << line;
  }
}

TEST(ProxyHeaderTest, V1WithoutLineEndIsBoundedBy107Bytes) {
  const std::string prefix = "PROXY TCP4 1.2.3.4 5.6.7.8 80 80";
  EXPECT_EQ(ParseProxyHeader(prefix, ProxyVersions::kV1).status, Status::kNeedMore);
  EXPECT_EQ(ParseProxyHeader("PRO", ProxyVersions::kV1).status, Status::kNeedMore);
  const std::string long_line = "PROXY UNKNOWN " + std::string(kMaxV1Size, 'x');
  EXPECT_EQ(ParseProxyHeader(long_line.substr(0, kMaxV1Size - 1), ProxyVersions::kV1).status,
            Status::kNeedMore);
  EXPECT_EQ(ParseProxyHeader(long_line.substr(0, kMaxV1Size), ProxyVersions::kV1).status,
            Status::kMalformed);
  // The spec's longest lines fit: TCP6 104 bytes, UNKNOWN 107.
  const std::string v6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const std::string tcp6 = "PROXY TCP6 " + v6 + " " + v6 + " 65535 65535\r\n";
  EXPECT_EQ(tcp6.size(), 104u);
  EXPECT_EQ(ParseProxyHeader(tcp6, ProxyVersions::kV1).status, Status::kComplete);
  const std::string unknown = "PROXY UNKNOWN " + v6 + " " + v6 + " 65535 65535\r\n";
  EXPECT_EQ(unknown.size(), kMaxV1Size);
  EXPECT_EQ(ParseProxyHeader(unknown, ProxyVersions::kV1).status, Status::kComplete);
}

TEST(ProxyHeaderTest, V2InetAndInet6NameTheClient) {
  const std::string header = V2(1, 0x11, Inet("192.0.2.7", 40000));
  ProxyHeader h = ParseProxyHeader(header + "GET /", ProxyVersions::kV2);
  ASSERT_EQ(h.status, Status::kComplete);
  EXPECT_EQ(h.size, header.size());
  EXPECT_EQ(h.version, 2);
  EXPECT_EQ(Source(h), "192.0.2.7:40000");
  h = ParseProxyHeader(V2(1, 0x21, Inet6("2001:db8::7", 1)), ProxyVersions::kAny);
  ASSERT_EQ(h.status, Status::kComplete);
  EXPECT_EQ(Source(h), "[2001:db8::7]:1");
}

TEST(ProxyHeaderTest, V2TlvsAreSkipped) {
  const std::string tlvs = "\x04\x00\x05hello\x05\x00\x02id"s;
  const std::string header = V2(1, 0x11, Inet("192.0.2.7", 40000) + tlvs);
  const ProxyHeader h = ParseProxyHeader(header + "GET", ProxyVersions::kV2);
  ASSERT_EQ(h.status, Status::kComplete);
  EXPECT_EQ(h.size, header.size());
  EXPECT_EQ(Source(h), "192.0.2.7:40000");
}

TEST(ProxyHeaderTest, V2LocalUnspecAndUnixKeepTheSocketPeer) {
  for (const std::string& header :
       {V2(0, 0x00, ""), V2(0, 0x11, Inet("192.0.2.7", 1)), V2(1, 0x00, ""),
        V2(1, 0x10, Inet("192.0.2.7", 1)), V2(1, 0x31, std::string(216, '\0'))}) {
    const ProxyHeader h = ParseProxyHeader(header, ProxyVersions::kV2);
    ASSERT_EQ(h.status, Status::kComplete);
    EXPECT_EQ(h.size, header.size());
    EXPECT_EQ(Source(h), "socket peer");
  }
}

TEST(ProxyHeaderTest, V2MalformedIsRefused) {
  std::string wrong_version = V2(1, 0x11, Inet("1.2.3.4", 1));
  wrong_version[12] = 0x11;
  for (const std::string& header : {
           wrong_version,
           V2(2, 0x11, Inet("1.2.3.4", 1)),              // command 2
           V2(1, 0x41, Inet("1.2.3.4", 1)),              // family 4
           V2(1, 0x13, Inet("1.2.3.4", 1)),              // transport 3
           V2(1, 0x12, Inet("1.2.3.4", 1)),              // DGRAM on a TCP listener
           V2(1, 0x11, Inet("1.2.3.4", 1).substr(0, 11)),  // too short for INET
           V2(1, 0x21, Inet("1.2.3.4", 1)),              // too short for INET6
           V2(1, 0x11, Inet("1.2.3.4", 1) + std::string(205, '\0')),  // 233 bytes
       }) {
    EXPECT_EQ(ParseProxyHeader(header, ProxyVersions::kV2).status, Status::kMalformed);
  }
  // The length alone decides once the fixed part is in: no waiting for 64 KiB.
  const std::string huge = kV2Signature + "\x21\x11\xff\xff"s;
  EXPECT_EQ(ParseProxyHeader(huge, ProxyVersions::kV2).status, Status::kMalformed);
}

TEST(ProxyHeaderTest, V2TruncatedNeedsMore) {
  const std::string header = V2(1, 0x11, Inet("1.2.3.4", 1));
  for (size_t n = 1; n < header.size(); ++n) {
    EXPECT_EQ(ParseProxyHeader(header.substr(0, n), ProxyVersions::kAny).status,
              Status::kNeedMore)
        << n;
  }
}

TEST(ProxyHeaderTest, BytesOfNoAcceptedHeaderAreMissing) {
  EXPECT_EQ(ParseProxyHeader("GET / HTTP/1.1\r\n", ProxyVersions::kAny).status, Status::kMissing);
  EXPECT_EQ(ParseProxyHeader("G", ProxyVersions::kAny).status, Status::kMissing);
  EXPECT_EQ(ParseProxyHeader("PROXX", ProxyVersions::kV1).status, Status::kMissing);
  EXPECT_EQ(ParseProxyHeader("\r\n\r\nX", ProxyVersions::kV2).status, Status::kMissing);
  // A header of a version the listener does not take.
  EXPECT_EQ(ParseProxyHeader("PROXY UNKNOWN\r\n", ProxyVersions::kV2).status, Status::kMissing);
  EXPECT_EQ(ParseProxyHeader(V2(0, 0, ""), ProxyVersions::kV1).status, Status::kMissing);
  EXPECT_EQ(ParseProxyHeader("", ProxyVersions::kAny).status, Status::kNeedMore);
}

}  // namespace
}  // namespace ringside
