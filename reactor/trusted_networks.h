// trusted_networks.h: a list of IPv4 and IPv6 networks (CIDR), and whether an address is in
// one of them: the sources a PROXY protocol header is believed from.
//
//   absl::StatusOr<TrustedNetworks> trusted = TrustedNetworks::Parse("127.0.0.0/8,::1/128");
//   if (!trusted.ok()) ...  // names the entry that is not ADDRESS/PREFIX
//   trusted->Contains(reinterpret_cast<const sockaddr*>(&peer));
//
// An IPv4-mapped IPv6 address (::ffff:a.b.c.d, a v4 client of a dual-stack listener) is
// matched as the IPv4 address it carries. A network must have no bits set past its prefix
// ("10.0.0.1/8" is refused: it names a host where a network was meant).
//
// Thread-safety: immutable once parsed; Contains() is thread-safe.
#ifndef RINGSIDE_REACTOR_TRUSTED_NETWORKS_H_
#define RINGSIDE_REACTOR_TRUSTED_NETWORKS_H_

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ringside {

class TrustedNetworks {
 public:
  // A comma-separated list of ADDRESS/PREFIX (no spaces); "" is the empty list.
  static absl::StatusOr<TrustedNetworks> Parse(std::string_view list);

  bool empty() const { return networks_.empty(); }
  bool Contains(const sockaddr* address) const;

 private:
  struct Network {
    bool v6 = false;
    std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4
    int prefix = 0;
  };
  static bool Matches(const Network& network, bool v6, const uint8_t* bytes);

  std::vector<Network> networks_;
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_TRUSTED_NETWORKS_H_
