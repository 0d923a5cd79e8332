#include "ringside/reactor/proxy_header.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace ringside {
namespace {

using Status = ProxyHeader::Status;

constexpr std::string_view kV1Signature = "PROXY ";
constexpr std::string_view kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr size_t kV2FixedSize = 16;

// v2 byte 13: the address family (high nibble) and transport (low nibble).
enum V2Family : uint8_t { kUnspec = 0, kInet = 1, kInet6 = 2, kUnix = 3 };
enum V2Transport : uint8_t { kTransportUnspec = 0, kStream = 1, kDgram = 2 };
// The address block's size for each family (proxy-protocol.txt 2.2).
constexpr std::array<size_t, 4> kV2AddressSize = {0, 12, 36, 216};

// Whether `input` is a prefix of `signature` or starts with it.
bool MayStartWith(std::string_view input, std::string_view signature) {
  const size_t n = std::min(input.size(), signature.size());
  return input.substr(0, n) == signature.substr(0, n);
}

ProxyHeader Result(Status status) {
  ProxyHeader h;
  h.status = status;
  return h;
}

// A v1 port: 0..65535 in decimal, no sign, no leading zero.
bool ParsePort(std::string_view s, uint16_t* port) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s.front() == '0')) return false;
  uint32_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return false;
  *port = static_cast<uint16_t>(value);
  return true;
}

// inet_pton of `s` (which is not NUL-terminated) into `out`.
bool ParseAddress(int family, std::string_view s, void* out) {
  char text[INET6_ADDRSTRLEN] = {};
  if (s.size() >= sizeof(text)) return false;
  std::memcpy(text, s.data(), s.size());
  return inet_pton(family, text, out) == 1;
}

// `out` = the AF_INET or AF_INET6 address at `address` (4 or 16 bytes, network order) with
// `port` (network order).
void SetSource(int family, const void* address, uint16_t port, sockaddr_storage* out) {
  if (family == AF_INET) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(out);
    v4->sin_family = AF_INET;
    std::memcpy(&v4->sin_addr, address, sizeof(v4->sin_addr));
    v4->sin_port = port;
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
    v6->sin6_family = AF_INET6;
    std::memcpy(&v6->sin6_addr, address, sizeof(v6->sin6_addr));
    v6->sin6_port = port;
  }
}

// "PROXY TCP4|TCP6 src dst sport dport" or "PROXY UNKNOWN[ ...]", the CRLF excluded.
bool ParseV1Line(std::string_view line, ProxyHeader* h) {
  line.remove_prefix(kV1Signature.size());
  if (line == "UNKNOWN" || line.substr(0, 8) == "UNKNOWN ") return true;  // the socket peer
  std::array<std::string_view, 5> fields;
  for (size_t i = 0; i < fields.size(); ++i) {
    const size_t space = line.find(' ');
    if ((space == std::string_view::npos) != (i + 1 == fields.size())) return false;
    fields[i] = line.substr(0, space);
    if (fields[i].empty()) return false;
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  }
  uint16_t source_port = 0, destination_port = 0;
  if (!ParsePort(fields[3], &source_port) || !ParsePort(fields[4], &destination_port)) {
    return false;
  }
  const int family = fields[0] == "TCP4" ? AF_INET : fields[0] == "TCP6" ? AF_INET6 : AF_UNSPEC;
  in6_addr source, destination;  // room for either family
  if (family == AF_UNSPEC || !ParseAddress(family, fields[1], &source) ||
      !ParseAddress(family, fields[2], &destination)) {
    return false;
  }
  SetSource(family, &source, htons(source_port), &h->source);
  return true;
}

ProxyHeader ParseV1(std::string_view input) {
  const size_t lf = input.substr(0, kMaxV1Size).find('\n');
  if (lf == std::string_view::npos) {
    return Result(input.size() >= kMaxV1Size ? Status::kMalformed : Status::kNeedMore);
  }
  if (lf == 0 || input[lf - 1] != '\r') return Result(Status::kMalformed);
  ProxyHeader h;
  if (!ParseV1Line(input.substr(0, lf - 1), &h)) return Result(Status::kMalformed);
  h.status = Status::kComplete;
  h.size = lf + 1;
  h.version = 1;
  return h;
}

ProxyHeader ParseV2(std::string_view input) {
  if (input.size() < kV2FixedSize) return Result(Status::kNeedMore);
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(input[i]); };
  const uint8_t version = byte(12) >> 4;
  const uint8_t command = byte(12) & 0xf;  // 0 LOCAL, 1 PROXY
  const uint8_t family = byte(13) >> 4;
  const uint8_t transport = byte(13) & 0xf;
  const size_t length = size_t{byte(14)} << 8 | byte(15);
  if (version != 2 || command > 1 || family > kUnix || transport > kDgram ||
      kV2FixedSize + length > kMaxV2Size || length < kV2AddressSize[family]) {
    return Result(Status::kMalformed);
  }
  if (input.size() < kV2FixedSize + length) return Result(Status::kNeedMore);
  ProxyHeader h;
  h.status = Status::kComplete;
  h.size = kV2FixedSize + length;  // TLVs, if any, end the header unread
  h.version = 2;
  if (command == 0) return h;  // LOCAL: the balancer's own connection (a health check)
  if (transport == kDgram) return Result(Status::kMalformed);
  if (transport == kTransportUnspec || family == kUnspec || family == kUnix) return h;
  // The source address, the destination address, the source port (network order).
  const char* addresses = input.data() + kV2FixedSize;
  const size_t address_size = family == kInet ? 4 : 16;
  uint16_t port = 0;
  std::memcpy(&port, addresses + 2 * address_size, sizeof(port));
  SetSource(family == kInet ? AF_INET : AF_INET6, addresses, port, &h.source);
  return h;
}

}  // namespace

ProxyHeader ParseProxyHeader(std::string_view input, ProxyVersions versions) {
  const bool v1 = versions == ProxyVersions::kV1 || versions == ProxyVersions::kAny;
  const bool v2 = versions == ProxyVersions::kV2 || versions == ProxyVersions::kAny;
  if (input.empty()) return Result(Status::kNeedMore);
  // The two signatures differ in their first byte, so at most one of these holds.
  if (v2 && MayStartWith(input, kV2Signature)) return ParseV2(input);
  if (v1 && MayStartWith(input, kV1Signature)) {
    return input.size() < kV1Signature.size() ? Result(Status::kNeedMore) : ParseV1(input);
  }
  return Result(Status::kMissing);
}

}  // namespace ringside
