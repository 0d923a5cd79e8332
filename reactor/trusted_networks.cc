#include "ringside/reactor/trusted_networks.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ringside {
namespace {

// The bits of `bytes` past the first `prefix` are all zero.
bool HostBitsClear(const uint8_t* bytes, int size, int prefix) {
  for (int bit = prefix; bit < size * 8; ++bit) {
    if (bytes[bit / 8] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<TrustedNetworks> TrustedNetworks::Parse(std::string_view list) {
  TrustedNetworks out;
  if (list.empty()) return out;
  for (absl::string_view entry :
       absl::StrSplit(absl::string_view(list.data(), list.size()), ',')) {
    const auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", std::string(entry), "\" is not a network (ADDRESS/PREFIX): ", why));
    };
    const size_t slash = entry.find('/');
    if (slash == absl::string_view::npos) return bad("no /PREFIX");
    const std::string address(entry.substr(0, slash));
    const absl::string_view prefix_text = entry.substr(slash + 1);
    Network network;
    if (inet_pton(AF_INET, address.c_str(), network.bytes.data()) == 1) {
      network.v6 = false;
    } else if (inet_pton(AF_INET6, address.c_str(), network.bytes.data()) == 1) {
      network.v6 = true;
    } else {
      return bad("not an IPv4 or IPv6 address");
    }
    const int max_prefix = network.v6 ? 128 : 32;
    const auto [end, ec] = std::from_chars(prefix_text.data(),
                                           prefix_text.data() + prefix_text.size(),
                                           network.prefix);
    if (prefix_text.empty() || ec != std::errc() ||
        end != prefix_text.data() + prefix_text.size() || network.prefix < 0 ||
        network.prefix > max_prefix) {
      return bad(absl::StrCat("the prefix must be 0..", max_prefix));
    }
    if (!HostBitsClear(network.bytes.data(), max_prefix / 8, network.prefix)) {
      return bad("bits are set past the prefix");
    }
    out.networks_.push_back(network);
  }
  return out;
}

bool TrustedNetworks::Matches(const Network& network, bool v6, const uint8_t* bytes) {
  if (network.v6 != v6) return false;
  const int whole = network.prefix / 8;
  if (std::memcmp(network.bytes.data(), bytes, whole) != 0) return false;
  const int rest = network.prefix % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (network.bytes[whole] & mask) == (bytes[whole] & mask);
}

bool TrustedNetworks::Contains(const sockaddr* address) const {
  bool v6 = false;
  const uint8_t* bytes = nullptr;
  if (address->sa_family == AF_INET) {
    bytes = reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in*>(address)->sin_addr);
  } else if (address->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    bytes = a.s6_addr;
    v6 = !IN6_IS_ADDR_V4MAPPED(&a);
    if (!v6) bytes += 12;  // the IPv4 address a dual-stack listener's v4 client has
  } else {
    return false;
  }
  for (const Network& network : networks_) {
    if (Matches(network, v6, bytes)) return true;
  }
  return false;
}

}  // namespace ringside
