#include "ringside/reactor/trusted_networks.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

namespace ringside {
namespace {

bool Contains(const TrustedNetworks& networks, const char* address) {
  sockaddr_storage storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
  } else {
    ADD_FAILURE() << address;
  }
  return networks.Contains(reinterpret_cast<const sockaddr*>(&storage));
}

TEST(TrustedNetworksTest, MatchesByPrefix) {
  const absl::StatusOr<TrustedNetworks> networks =
      TrustedNetworks::Parse("127.0.0.0/8,10.1.2.0/23,::1/128,2001:db8::/33");
  ASSERT_TRUE(networks.ok()) << networks.status();
  EXPECT_TRUE(Contains(*networks, "127.0.0.1"));
  EXPECT_TRUE(Contains(*networks, "127.255.0.9"));
  EXPECT_FALSE(Contains(*networks, "128.0.0.1"));
  EXPECT_TRUE(Contains(*networks, "10.1.3.255"));
  EXPECT_FALSE(Contains(*networks, "10.1.4.0"));
  EXPECT_TRUE(Contains(*networks, "::1"));
  EXPECT_FALSE(Contains(*networks, "::2"));
  EXPECT_TRUE(Contains(*networks, "2001:db8:7fff::1"));
  EXPECT_FALSE(Contains(*networks, "2001:db8:8000::1"));
  // A v4 client of a dual-stack listener.
  EXPECT_TRUE(Contains(*networks, "::ffff:127.0.0.1"));
  EXPECT_FALSE(Contains(*networks, "::ffff:192.0.2.1"));
}

TEST(TrustedNetworksTest, ZeroPrefixMatchesItsWholeFamily) {
  const absl::StatusOr<TrustedNetworks> networks = TrustedNetworks::Parse("0.0.0.0/0");
  ASSERT_TRUE(networks.ok());
  EXPECT_TRUE(Contains(*networks, "192.0.2.1"));
  EXPECT_FALSE(Contains(*networks, "2001:db8::1"));
}

TEST(TrustedNetworksTest, EmptyListMatchesNothing) {
  const absl::StatusOr<TrustedNetworks> networks = TrustedNetworks::Parse("");
  ASSERT_TRUE(networks.ok());
  EXPECT_TRUE(networks->empty());
  EXPECT_FALSE(Contains(*networks, "127.0.0.1"));
}

TEST(TrustedNetworksTest, BadEntriesAreRefusedByName) {
  for (const char* bad : {"127.0.0.1", "127.0.0.0/33", "::/129", "10.0.0.1/8", "host/8",
                          "127.0.0.0/8,", "127.0.0.0/8 ", "127.0.0.0/-1", "127.0.0.0/"}) {
    const absl::StatusOr<TrustedNetworks> networks = TrustedNetworks::Parse(bad);
    EXPECT_FALSE(networks.ok()) << bad;
  }
  EXPECT_NE(TrustedNetworks::Parse("10.0.0.1/8").status().message().find("10.0.0.1/8"),
            std::string::npos);
}

}  // namespace
}  // namespace ringside
