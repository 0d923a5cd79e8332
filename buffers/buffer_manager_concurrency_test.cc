// Releases from other threads, out of order, through the MPSC queue, under TSan in CI.
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ringside/buffers/buffer_manager.h"
#include "ringside/buffers/test_sockets.h"

namespace ringside {
namespace {

using testing::Cqe;
using testing::SocketPair;
using testing::TestUring;
using testing::WriteAll;

constexpr uint64_t kRecv = 1;
constexpr uint64_t kWake = 2;

// Leases handed to workers, which check the bytes and release them in random order.
class WorkerPool {
 public:
  explicit WorkerPool(int threads) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this, i] { Run(i); });
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  void Push(BufferLease lease, std::string expected) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      work_.push_back({std::move(lease), std::move(expected)});
    }
    cv_.notify_one();
  }
  int mismatches() {
    std::lock_guard<std::mutex> lock(mu_);
    return mismatches_;
  }

 private:
  struct Item {
    BufferLease lease;
    std::string expected;
  };
  void Run(int seed) {
    std::mt19937 rng(seed);
    std::vector<Item> mine;
    for (;;) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return done_ || !work_.empty(); });
      if (work_.empty()) return;
      mine.push_back(std::move(work_.front()));
      work_.pop_front();
      const bool more_waiting = !work_.empty();
      lock.unlock();
      // Hold a few leases and let them go out of order.
      if (mine.size() < 3 && more_waiting) continue;
      std::shuffle(mine.begin(), mine.end(), rng);
      for (Item& item : mine) {
        if (item.lease.view() != item.expected) {
          std::lock_guard<std::mutex> guard(mu_);
          ++mismatches_;
        }
      }
      mine.clear();  // releases on this worker thread
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> work_;
  bool done_ = false;
  int mismatches_ = 0;
  std::vector<std::thread> workers_;
};

TEST(BufferManagerConcurrencyTest, LeasesReleasedOnOtherThreadsRecycleEveryBuffer) {
  TestUring uring;
  const int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(wake_fd, 0);
  Mailbox<uint64_t> queue(8, [wake_fd] { eventfd_write(wake_fd, 1); });  // small: producers meet a full queue
  BufferManager manager(uring.get(), {.incremental = true, .buffer_size = 512,
                                      .connection_entries = 4},
                        &queue);
  ASSERT_TRUE(manager.Init().ok());
  RingId id = *manager.AttachRing();
  SocketPair sockets;
  uring.ArmPoll(wake_fd, kWake);
  uring.ArmRecv(sockets.server, manager.bgid(id), kRecv);

  std::string sent;
  for (int i = 0; i < 20000; ++i) sent += static_cast<char>('!' + (i * 7) % 90);
  std::thread writer([&] {
    for (size_t at = 0; at < sent.size(); at += 100) {
      WriteAll(sockets.client, std::string_view(sent).substr(at, 100));
    }
  });

  size_t received = 0;
  uint64_t enobufs = 0;
  bool recv_armed = true;
  {
    WorkerPool workers(3);
    while (received < sent.size()) {
      std::optional<Cqe> cqe = uring.NextCqe();
      ASSERT_TRUE(cqe.has_value()) << "stuck at " << received << " bytes";
      if (cqe->user_data == kWake) {
        eventfd_t drained;
        eventfd_read(wake_fd, &drained);
        if (!(cqe->flags & IORING_CQE_F_MORE)) uring.ArmPoll(wake_fd, kWake);
      } else if (cqe->user_data == kRecv) {
        BufferLease lease = manager.Receive(id, cqe->res, cqe->flags);
        if (lease.size() > 0) {
          workers.Push(std::move(lease), sent.substr(received, cqe->res));
          received += static_cast<size_t>(cqe->res);
        }
        if (cqe->res == -ENOBUFS) ++enobufs;
        if (!(cqe->flags & IORING_CQE_F_MORE)) recv_armed = false;
      }
      manager.DrainReleases();
      manager.Flush(nullptr);
      // A receive parked for lack of buffers resumes once one came back.
      if (!recv_armed && manager.ring(id)->buffers_with_kernel() > 0) {
        uring.ArmRecv(sockets.server, manager.bgid(id), kRecv);
        recv_armed = true;
      }
    }
    EXPECT_EQ(workers.mismatches(), 0);
  }  // workers joined: every lease released
  writer.join();
  manager.DrainReleases();
  EXPECT_EQ(received, sent.size());
  EXPECT_FALSE(manager.ring(id)->has_readers());
  EXPECT_EQ(manager.ring(id)->stats().stale_releases, 0u);
  EXPECT_EQ(manager.stats().stale_releases, 0u);
  std::printf("enobufs stalls: %llu, queue-full retries: %llu\n",
              static_cast<unsigned long long>(enobufs),
              static_cast<unsigned long long>(manager.stats().release_queue_full_retries));
  close(wake_fd);
}

}  // namespace
}  // namespace ringside
