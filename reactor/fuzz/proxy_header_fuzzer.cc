// proxy_header_fuzzer.cc: libFuzzer target for ParseProxyHeader (PROXY protocol v1 and v2).
//
// Input: one options byte (its low two bits pick the accepted versions: v1, v2, any; 0 is
// taken as any), then the bytes a load balancer sends.
//
// Every prefix of the input is parsed, as the reactor does while bytes trickle in, and the
// results must follow the contract in reactor/proxy_header.h:
//   - kNeedMore until a decision, then the same decision for every longer prefix (a
//     complete header's size and source never change with the bytes after it);
//   - the decision comes within the spec's size limits (107 bytes v1, 232 v2): a header
//     that never completes is never buffered past them;
//   - a complete header lies inside the input, its version matches its signature, and its
//     source is AF_UNSPEC, AF_INET or AF_INET6.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "ringside/reactor/proxy_header.h"
#include "ringside/tools/fuzz/fuzz_check.h"

namespace ringside {
namespace {

constexpr size_t kMaxInput = 512;

bool SameDecision(const ProxyHeader& a, const ProxyHeader& b) {
  return a.status == b.status && a.size == b.size && a.version == b.version &&
         std::memcmp(&a.source, &b.source, sizeof(a.source)) == 0;
}

void Check(std::string_view input, ProxyVersions versions) {
  bool decided = false;
  ProxyHeader decision;
  for (size_t n = 0; n <= input.size(); ++n) {
    const ProxyHeader h = ParseProxyHeader(input.substr(0, n), versions);
    if (decided) {
      FUZZ_CHECK(SameDecision(h, decision));
      continue;
    }
    if (h.status == ProxyHeader::Status::kNeedMore) {
      FUZZ_CHECK(n < kMaxV2Size);
      FUZZ_CHECK(n < kMaxV1Size || input[0] != 'P');
      continue;
    }
    decided = true;
    decision = h;
    if (h.status != ProxyHeader::Status::kComplete) continue;
    FUZZ_CHECK(h.size == n);  // decided by its last byte
    FUZZ_CHECK(h.version == (input[0] == 'P' ? 1 : 2));
    FUZZ_CHECK(h.size <= (h.version == 1 ? kMaxV1Size : kMaxV2Size));
    FUZZ_CHECK(versions == ProxyVersions::kAny ||
               versions == (h.version == 1 ? ProxyVersions::kV1 : ProxyVersions::kV2));
    const int family = h.source.ss_family;
    FUZZ_CHECK(family == AF_UNSPEC || family == AF_INET || family == AF_INET6);
  }
}

}  // namespace
}  // namespace ringside

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ringside::ProxyVersions;
  if (size == 0 || size > ringside::kMaxInput) return 0;
  constexpr ProxyVersions kVersions[] = {ProxyVersions::kAny, ProxyVersions::kV1,
                                         ProxyVersions::kV2, ProxyVersions::kAny};
  ringside::Check(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1),
                  kVersions[data[0] & 3]);
  return 0;
}
