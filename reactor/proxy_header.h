// proxy_header.h: parses the PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1
// and 2) that a load balancer sends before the client's bytes, naming the client.
//
//   const ProxyHeader h = ParseProxyHeader(input, ProxyVersions::kAny);
//   switch (h.status) {
//     case ProxyHeader::Status::kNeedMore: ...  // wait for more bytes (the header is bounded)
//     case ProxyHeader::Status::kComplete:      // drop h.size bytes; the rest is the client's
//       if (h.source.ss_family != AF_UNSPEC) peer = h.source;  // else keep the socket's
//     default: ...                              // kMissing, kMalformed: refuse the connection
//   }
//
// Rules (strict: a header is all or nothing, never guessed at):
//   v1  "PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n", single spaces, addresses of the
//       named family, ports 0..65535 without leading zeros; or "PROXY UNKNOWN ...\r\n"
//       (keeps the socket peer). At most kMaxV1Size bytes including the CRLF, else malformed.
//   v2  the 12-byte signature, version 2, command LOCAL (keeps the socket peer, whatever the
//       family) or PROXY; family UNSPEC or UNIX (keep the socket peer), INET or INET6 with
//       transport STREAM or UNSPEC (UNSPEC keeps the socket peer); DGRAM is malformed on a
//       TCP listener. TLVs after the addresses are skipped unread. At most kMaxV2Size bytes
//       (16 + 216, the UNIX address block), else malformed.
//   Bytes that start no header of an accepted version are kMissing, decided as soon as
//   one byte differs from every accepted signature (so an HTTP request is refused at once).
//
// Thread-safety: thread-safe (a pure function).
#ifndef RINGSIDE_REACTOR_PROXY_HEADER_H_
#define RINGSIDE_REACTOR_PROXY_HEADER_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringside {

// Which PROXY protocol versions a listener requires (one of them on every connection).
enum class ProxyVersions : uint8_t { kOff, kV1, kV2, kAny };

inline constexpr size_t kMaxV1Size = 107;  // the spec's longest line, UNKNOWN, with its CRLF
inline constexpr size_t kMaxV2Size = 232;  // 16-byte fixed part + 216 (UNIX addresses)

struct ProxyHeader {
  enum class Status : uint8_t {
    kNeedMore,   // a prefix of an accepted header: wait (bounded by the size limits)
    kComplete,   // the first `size` bytes are the header
    kMissing,    // the bytes start no header of an accepted version
    kMalformed,  // a header's signature, but invalid or over its size limit
  };
  Status status = Status::kNeedMore;
  size_t size = 0;     // kComplete: the header's bytes
  uint8_t version = 0; // kComplete: 1 or 2
  // kComplete: the client's address and port; AF_UNSPEC when the socket peer stands (v1
  // UNKNOWN, v2 LOCAL, an UNSPEC or UNIX family or an UNSPEC transport).
  sockaddr_storage source{};
};

// `versions` is not kOff.
ProxyHeader ParseProxyHeader(std::string_view input, ProxyVersions versions);

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_PROXY_HEADER_H_
