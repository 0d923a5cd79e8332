#include "ringside/buffers/buffer_manager.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include "ringside/buffers/test_sockets.h"

namespace ringside {
namespace {

using testing::Cqe;
using testing::SocketPair;
using testing::TestUring;
using testing::WriteAll;

constexpr uint64_t kRecv = 1;

struct Fixture {
  explicit Fixture(BufferManagerConfig config)
      : queue(64, [] {}), manager(uring.get(), config, &queue) {
    const absl::Status init = manager.Init();
    EXPECT_TRUE(init.ok()) << init;
  }
  TestUring uring;
  Mailbox<uint64_t> queue;
  BufferManager manager;
};

BufferManagerConfig Incremental() {
  return {.incremental = true, .buffer_size = 4096, .connection_entries = 4};
}

// Receives until `want` bytes arrived on ring `id`, keeping every lease.
std::string ReceiveHolding(Fixture& f, RingId id, size_t want, std::vector<BufferLease>* held) {
  std::string out;
  while (out.size() < want) {
    std::optional<Cqe> cqe = f.uring.NextCqe();
    EXPECT_TRUE(cqe.has_value());
    if (!cqe) break;
    if (cqe->user_data != kRecv) continue;
    BufferLease lease = f.manager.Receive(id, cqe->res, cqe->flags);
    out.append(lease.view());
    held->push_back(std::move(lease));
  }
  return out;
}

TEST(BufferManagerTest, SharedModeServesEveryConnectionFromOneRing) {
  Fixture f({.incremental = false, .buffer_size = 4096, .shared_entries = 8});
  absl::StatusOr<RingId> a = f.manager.AttachRing();
  absl::StatusOr<RingId> b = f.manager.AttachRing();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(f.manager.bgid(*a), 0);
  EXPECT_FALSE(f.manager.incremental());
  f.manager.DetachRing(*a);
  EXPECT_NE(f.manager.ring(*b), nullptr);
}

TEST(BufferManagerTest, IncrementalModeGivesEachConnectionItsOwnBgid) {
  Fixture f(Incremental());
  std::set<uint16_t> bgids;
  std::vector<RingId> ids;
  for (int i = 0; i < 50; ++i) {
    absl::StatusOr<RingId> id = f.manager.AttachRing();
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_GE(f.manager.bgid(*id), 2);
    bgids.insert(f.manager.bgid(*id));
    ids.push_back(*id);
  }
  EXPECT_EQ(bgids.size(), 50u);
  EXPECT_EQ(f.manager.stats().rings_live, 50u);
  for (RingId id : ids) f.manager.DetachRing(id);
  EXPECT_EQ(f.manager.stats().rings_live, 0u);
}

TEST(BufferManagerTest, PooledRingIsReusedWithoutSyscalls) {
  Fixture f(Incremental());
  absl::StatusOr<RingId> first = f.manager.AttachRing();
  ASSERT_TRUE(first.ok());
  const uint16_t bgid = f.manager.bgid(*first);
  f.manager.DetachRing(*first);
  const uint64_t syscalls = f.manager.stats().ring_syscalls;
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<RingId> id = f.manager.AttachRing();
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(f.manager.bgid(*id), bgid);
    f.manager.DetachRing(*id);
  }
  EXPECT_EQ(f.manager.stats().ring_syscalls, syscalls);
  EXPECT_GE(f.manager.stats().pool_reuses, 1000u);
}

TEST(BufferManagerTest, WithoutPoolEveryRingCostsSixSyscalls) {
  BufferManagerConfig config = Incremental();
  config.pool_max_rings = 0;
  Fixture f(config);
  const uint64_t before = f.manager.stats().ring_syscalls;
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<RingId> id = f.manager.AttachRing();
    ASSERT_TRUE(id.ok());
    f.manager.DetachRing(*id);
  }
  EXPECT_EQ(f.manager.stats().ring_syscalls - before, 60u);
  EXPECT_EQ(f.manager.stats().bgids_in_use, 0u);
}

TEST(BufferManagerTest, ReleaseAfterTeardownIsStaleYetMemoryStaysValidUntilIt) {
  Fixture f(Incremental());
  absl::StatusOr<RingId> id = f.manager.AttachRing();
  ASSERT_TRUE(id.ok());
  SocketPair sockets;
  f.uring.ArmRecv(sockets.server, f.manager.bgid(*id), kRecv);
  WriteAll(sockets.client, "kept after close");
  std::vector<BufferLease> held;
  EXPECT_EQ(ReceiveHolding(f, *id, 16, &held), "kept after close");
  f.uring.Cancel(kRecv);
  f.manager.DetachRing(*id);
  EXPECT_EQ(f.manager.ring(*id), nullptr);
  EXPECT_EQ(f.manager.stats().rings_awaiting_release, 1u);
  EXPECT_EQ(f.manager.stats().rings_pooled, 0u);
  // ASan would flag this read if the slab had been unmapped or reused.
  EXPECT_EQ(held[0].view(), "kept after close");
  held.clear();
  EXPECT_EQ(f.manager.stats().stale_releases, 1u);
  EXPECT_EQ(f.manager.stats().rings_awaiting_release, 0u);
  EXPECT_EQ(f.manager.stats().rings_pooled, 1u);
}

TEST(BufferManagerTest, ReleaseAfterSlotReuseIsRejectedAndTouchesNothing) {
  Fixture f(Incremental());
  absl::StatusOr<RingId> old_id = f.manager.AttachRing();
  ASSERT_TRUE(old_id.ok());
  SocketPair sockets;
  f.uring.ArmRecv(sockets.server, f.manager.bgid(*old_id), kRecv);
  WriteAll(sockets.client, "abc");
  std::vector<BufferLease> held;
  ReceiveHolding(f, *old_id, 3, &held);
  const uint64_t old_word = held[0].release_word();
  held.clear();
  f.uring.Cancel(kRecv);
  f.manager.DetachRing(*old_id);

  absl::StatusOr<RingId> new_id = f.manager.AttachRing();
  ASSERT_TRUE(new_id.ok());
  ASSERT_EQ(new_id->slot, old_id->slot);
  ASSERT_NE(new_id->generation, old_id->generation);
  BufferRing* ring = f.manager.ring(*new_id);
  ring->Retain(0);  // a live reader on the new owner's bid 0
  const uint64_t stale_before = f.manager.stats().stale_releases;
  f.manager.Release(old_word);
  EXPECT_EQ(f.manager.stats().stale_releases, stale_before + 1);
  EXPECT_EQ(ring->buffers()[0].readers, 1u);
  EXPECT_EQ(ring->stats().stale_releases, 0u);
  ring->Release(0);
}

TEST(BufferManagerTest, BudgetRefusesRingsBeyondItWithClearError) {
  BufferManagerConfig config = Incremental();
  config.budget_bytes = 3 * 4 * 4096;
  Fixture f(config);
  std::vector<RingId> ids;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<RingId> id = f.manager.AttachRing();
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
  }
  absl::StatusOr<RingId> refused = f.manager.AttachRing();
  ASSERT_TRUE(absl::IsResourceExhausted(refused.status()));
  EXPECT_NE(refused.status().message().find("budget"), std::string::npos);
  EXPECT_EQ(f.manager.stats().budget_refusals, 1u);
  f.manager.DetachRing(ids[0]);
  EXPECT_TRUE(f.manager.AttachRing().ok()) << "a pooled ring fits the budget again";
}

TEST(BufferManagerTest, BgidExhaustionRefusesThatConnectionOnly) {
  BufferManagerConfig config = Incremental();
  config.first_bgid = 2;
  config.last_bgid = 4;
  Fixture f(config);
  std::vector<RingId> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(*f.manager.AttachRing());
  absl::StatusOr<RingId> refused = f.manager.AttachRing();
  ASSERT_TRUE(absl::IsResourceExhausted(refused.status()));
  EXPECT_NE(refused.status().message().find("group ids"), std::string::npos);
  EXPECT_EQ(f.manager.stats().bgid_refusals, 1u);
  for (RingId id : ids) EXPECT_NE(f.manager.ring(id), nullptr);
}

TEST(BufferManagerTest, ConnectionRefusedItsOwnRingReceivesIntoTheSharedRing) {
  BufferManagerConfig config = Incremental();
  config.last_bgid = 3;  // two connection rings
  config.shared_entries = 8;
  Fixture f(config);
  RingId own = *f.manager.AttachRing();
  ASSERT_TRUE(f.manager.AttachRing().ok());
  ASSERT_TRUE(absl::IsResourceExhausted(f.manager.AttachRing().status()));
  const RingId shared = f.manager.shared();
  EXPECT_TRUE(f.manager.IsShared(shared));
  EXPECT_FALSE(f.manager.IsShared(own));
  ASSERT_NE(f.manager.ring(shared), nullptr);
  EXPECT_EQ(f.manager.bgid(shared), 0);
  EXPECT_FALSE(f.manager.ring(shared)->config().incremental);
  SocketPair sockets;
  f.uring.ArmRecv(sockets.server, f.manager.bgid(shared), kRecv);
  WriteAll(sockets.client, "no ring of its own");
  std::vector<BufferLease> held;
  EXPECT_EQ(ReceiveHolding(f, shared, 18, &held), "no ring of its own");
  held.clear();
  EXPECT_EQ(f.manager.ring(shared)->stats().buffers_recycled, 1u);
  f.manager.DetachRing(shared);
  EXPECT_NE(f.manager.ring(shared), nullptr) << "the shared ring is never detached";
  EXPECT_EQ(f.manager.stats().rings_live, 2u) << "only connections' own rings count";
  EXPECT_EQ(f.manager.stats().memory_refusals, 0u);
}

TEST(BufferManagerTest, KernelWithoutIncrementalFallsBackToShared) {
  BufferManagerConfig config = Incremental();
  config.simulate_incremental_unsupported = true;
  Fixture f(config);
  EXPECT_FALSE(f.manager.incremental());
  EXPECT_NE(f.manager.fallback_reason().find("unsupported"), std::string::npos);
  absl::StatusOr<RingId> id = f.manager.AttachRing();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(f.manager.bgid(*id), 0);
  EXPECT_EQ(f.manager.stats().bgids_in_use, 0u);
}

// Beyond the watermark a pooled ring gives its slab back, once: churn around the watermark
// reuses the resident ring, and the ring that gave its slab back does not do it again
// while it sits in the pool.
TEST(BufferManagerTest, PoolBeyondResidentWatermarkGivesMemoryBackOnce) {
  BufferManagerConfig config = Incremental();
  config.pool_resident_rings = 1;
  Fixture f(config);
  RingId a = *f.manager.AttachRing();
  RingId b = *f.manager.AttachRing();
  const uint64_t before = f.manager.stats().ring_syscalls;
  f.manager.DetachRing(a);
  EXPECT_EQ(f.manager.stats().ring_syscalls, before);
  f.manager.DetachRing(b);
  EXPECT_EQ(f.manager.stats().ring_syscalls, before + 1) << "one madvise";
  const uint64_t reuses = f.manager.stats().pool_reuses;
  for (int i = 0; i < 10; ++i) f.manager.DetachRing(*f.manager.AttachRing());
  EXPECT_EQ(f.manager.stats().ring_syscalls, before + 1) << "no madvise per churned ring";
  EXPECT_EQ(f.manager.stats().pool_reuses, reuses + 10);
}

TEST(BufferManagerTest, DetachThenReattachKeepsTheByteStreamExact) {
  Fixture f(Incremental());
  SocketPair sockets;
  std::string sent, received;
  RingId id = *f.manager.AttachRing();
  for (int round = 0; round < 20; ++round) {
    f.uring.ArmRecv(sockets.server, f.manager.bgid(id), kRecv);
    const std::string chunk(1000 + round * 37, static_cast<char>('a' + round));
    sent += chunk;
    WriteAll(sockets.client, chunk);
    std::vector<BufferLease> held;
    received += ReceiveHolding(f, id, chunk.size(), &held);
    held.clear();
    f.manager.Flush(nullptr);
    // Idle: stop receiving, wait for the cancellation to land, give the ring back.
    f.uring.Cancel(kRecv);
    bool recv_ended = false;
    while (!recv_ended) {
      std::optional<Cqe> cqe = f.uring.NextCqe();
      ASSERT_TRUE(cqe.has_value());
      recv_ended = cqe->user_data == kRecv && !(cqe->flags & IORING_CQE_F_MORE);
    }
    f.manager.DetachRing(id);
    id = *f.manager.AttachRing();
  }
  EXPECT_EQ(received, sent);
}

}  // namespace
}  // namespace ringside
