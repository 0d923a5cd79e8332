#include "ringside/reactor/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace ringside {
namespace {

struct Item : TimerWheel::Timer {
  int id = 0;
};

Item* ItemOf(TimerWheel::Timer* t) { return static_cast<Item*>(t); }

std::vector<int> AdvanceIds(TimerWheel& wheel, uint64_t now) {
  std::vector<int> ids;
  wheel.Advance(now, [&](TimerWheel::Timer* t) { ids.push_back(ItemOf(t)->id); });
  return ids;
}

TEST(TimerWheelTest, FiresInDeadlineOrderOnlyOnceDue) {
  TimerWheel wheel(1000);
  std::vector<Item> items(6);
  const uint64_t deadlines[] = {1070, 1003, 1500, 1003, 9000, 1001};
  for (int i = 0; i < 6; ++i) {
    items[i].id = i;
    wheel.Arm(&items[i], deadlines[i]);
  }
  EXPECT_EQ(wheel.armed(), 6u);
  EXPECT_TRUE(AdvanceIds(wheel, 1000).empty());
  EXPECT_EQ(AdvanceIds(wheel, 1001), std::vector<int>{5});
  EXPECT_TRUE(AdvanceIds(wheel, 1002).empty());
  std::vector<int> both = AdvanceIds(wheel, 1003);
  std::sort(both.begin(), both.end());
  EXPECT_EQ(both, (std::vector<int>{1, 3}));
  // One jump over several deadlines fires them in deadline order.
  EXPECT_EQ(AdvanceIds(wheel, 10000), (std::vector<int>{0, 2, 4}));
  EXPECT_EQ(wheel.armed(), 0u);
  EXPECT_EQ(wheel.NextDeadline(), TimerWheel::kNever);
}

TEST(TimerWheelTest, CancelAndRearmMoveATimer) {
  TimerWheel wheel(0);
  Item a, b;
  a.id = 1;
  b.id = 2;
  wheel.Arm(&a, 50);
  wheel.Arm(&b, 60);
  wheel.Cancel(&a);
  EXPECT_FALSE(a.armed());
  wheel.Cancel(&a);  // twice: a no-op
  wheel.Arm(&b, 5000);  // later
  EXPECT_TRUE(AdvanceIds(wheel, 4999).empty());
  wheel.Arm(&a, 4000);  // in the past now: due at the next Advance
  EXPECT_EQ(AdvanceIds(wheel, 4999), std::vector<int>{1});
  EXPECT_EQ(AdvanceIds(wheel, 5000), std::vector<int>{2});
  EXPECT_EQ(wheel.armed(), 0u);
}

TEST(TimerWheelTest, CallbacksMayCancelOtherDueTimersAndRearmWithoutLooping) {
  TimerWheel wheel(100);
  Item a, b, c;
  a.id = 1;
  b.id = 2;
  c.id = 3;
  wheel.Arm(&a, 110);
  wheel.Arm(&b, 110);
  wheel.Arm(&c, 120);
  std::vector<int> fired;
  wheel.Advance(200, [&](TimerWheel::Timer* t) {
    Item* item = ItemOf(t);
    fired.push_back(item->id);
    // Whichever of a and b fires first cancels the other; re-arming in the past waits for
    // the next Advance instead of firing again now.
    wheel.Cancel(item == &a ? &b : &a);
    if (item == &c) wheel.Arm(&c, 150);
  });
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[1], 3);
  EXPECT_TRUE(c.armed());
  EXPECT_LE(wheel.NextDeadline(), 200u);
  EXPECT_EQ(AdvanceIds(wheel, 200), std::vector<int>{3});
  EXPECT_EQ(wheel.armed(), 0u);
}

// Deadlines that cross the boundaries of every level, ms by ms: each fires exactly at its
// deadline, whatever the carries in the time's bits.
TEST(TimerWheelTest, WrapsAroundEveryLevelBoundary) {
  for (const uint64_t start : {uint64_t{0}, uint64_t{63}, uint64_t{4090}, uint64_t{262140},
                               (uint64_t{1} << 36) - 5, UINT64_MAX - 5000}) {
    TimerWheel wheel(start);
    std::vector<Item> items(200);
    std::mt19937_64 rng(start);
    std::map<uint64_t, std::vector<int>> want;
    for (int i = 0; i < 200; ++i) {
      items[i].id = i;
      const uint64_t deadline = start + 1 + rng() % 4900;
      wheel.Arm(&items[i], deadline);
      want[deadline].push_back(i);
    }
    for (uint64_t now = start; now <= start + 4901; ++now) {
      std::vector<int> got = AdvanceIds(wheel, now);
      std::sort(got.begin(), got.end());
      const auto it = want.find(now);
      ASSERT_EQ(got, it == want.end() ? std::vector<int>{} : it->second)
          << "start " << start << " now " << now;
    }
    EXPECT_EQ(wheel.armed(), 0u);
  }
}

TEST(TimerWheelTest, FarDeadlinesFireOnTimeAfterAFewMoves) {
  TimerWheel wheel(12345);
  Item far, farthest, hour;
  far.id = 1;
  farthest.id = 2;
  hour.id = 3;
  const uint64_t far_deadline = 12345 + (uint64_t{1} << 40) + 777;
  wheel.Arm(&far, far_deadline);
  wheel.Arm(&farthest, UINT64_MAX - 1);  // UINT64_MAX is kNever
  wheel.Arm(&hour, 12345 + 3600 * 1000);
  // Step from wake-up to wake-up, as the reactor does: few wake-ups, none late.
  int wakeups = 0;
  std::vector<int> fired;
  for (uint64_t next = wheel.NextDeadline(); next != TimerWheel::kNever;
       next = wheel.NextDeadline()) {
    ASSERT_LT(++wakeups, 100);
    // Nothing fires a millisecond early.
    wheel.Advance(next - 1, [&](TimerWheel::Timer*) { ADD_FAILURE() << "early"; });
    wheel.Advance(next, [&](TimerWheel::Timer* t) {
      fired.push_back(ItemOf(t)->id);
      const uint64_t want = ItemOf(t) == &far ? far_deadline
                            : ItemOf(t) == &hour ? 12345 + 3600 * 1000 : UINT64_MAX - 1;
      EXPECT_EQ(next, want);
    });
  }
  EXPECT_EQ(fired, (std::vector<int>{3, 1, 2}));
  // Each timer moved down at most once per level.
  EXPECT_LE(wheel.stats().cascaded, 3u * (TimerWheel::kLevels - 1));
}

// Random arms, re-arms, cancels and advances against a plain map: every timer fires on the
// first Advance that reaches its deadline, once, in deadline order within an Advance (a
// deadline before the wheel's time counts as that time).
TEST(TimerWheelTest, ManyTimersMatchAReferenceModel) {
  std::mt19937_64 rng(20260101);
  const uint64_t start = 1'700'000'000'000;
  TimerWheel wheel(start);
  constexpr int kTimers = 20000;
  std::vector<std::unique_ptr<Item>> items;
  for (int i = 0; i < kTimers; ++i) {
    items.push_back(std::make_unique<Item>());
    items.back()->id = i;
  }
  std::map<int, uint64_t> armed;  // id -> deadline
  std::set<std::pair<uint64_t, int>> by_deadline;
  auto disarm = [&](int id) {
    const auto it = armed.find(id);
    if (it == armed.end()) return;
    by_deadline.erase({it->second, id});
    armed.erase(it);
  };
  uint64_t now = start;
  auto random_delay = [&]() -> uint64_t {
    switch (rng() % 5) {
      case 0: return rng() % 64;
      case 1: return rng() % 5000;
      case 2: return rng() % 300000;
      case 3: return rng() % (uint64_t{1} << 30);
      default: return rng() % 2 ? 0 : rng() % 100;
    }
  };
  for (int step = 0; step < 400000; ++step) {
    const uint64_t op = rng() % 100;
    Item& item = *items[rng() % kTimers];
    if (op < 55) {
      const uint64_t asked = now + random_delay() - (rng() % 20 == 0 ? 3 : 0);
      wheel.Arm(&item, asked);
      const uint64_t deadline = std::max(asked, now);
      disarm(item.id);
      armed[item.id] = deadline;
      by_deadline.insert({deadline, item.id});
    } else if (op < 70) {
      wheel.Cancel(&item);
      disarm(item.id);
    } else {
      const uint64_t to = now + (rng() % 10 == 0 ? rng() % 400000 : rng() % 40);
      uint64_t last = 0;
      std::vector<int> fired;
      wheel.Advance(to, [&](TimerWheel::Timer* t) {
        const int id = ItemOf(t)->id;
        const auto it = armed.find(id);
        ASSERT_NE(it, armed.end()) << "fired a timer that is not armed: " << id;
        ASSERT_LE(it->second, to) << "early";
        ASSERT_GE(it->second, last) << "out of deadline order";
        last = it->second;
        disarm(id);
        fired.push_back(id);
      });
      now = std::max(now, to);
      ASSERT_EQ(wheel.armed(), armed.size());
      if (!armed.empty()) {
        const uint64_t earliest = by_deadline.begin()->first;
        ASSERT_GT(earliest, now) << "timer " << by_deadline.begin()->second
                                 << " is due and did not fire";
        ASSERT_LE(wheel.NextDeadline(), earliest);
        ASSERT_GT(wheel.NextDeadline(), now);
      } else {
        ASSERT_EQ(wheel.NextDeadline(), TimerWheel::kNever);
      }
    }
  }
  for (auto& item : items) wheel.Cancel(item.get());
  EXPECT_EQ(wheel.armed(), 0u);
}

// The work of an Advance is what came due: 100,000 timers armed an hour away cost nothing
// to the Advances that fire the ten due in the next second.
TEST(TimerWheelTest, AdvanceWorkIsProportionalToDueTimersNotToArmedOnes) {
  TimerWheel wheel(0);
  std::vector<std::unique_ptr<Item>> idle;
  for (int i = 0; i < 100000; ++i) {
    idle.push_back(std::make_unique<Item>());
    wheel.Arm(idle.back().get(), 3'600'000 + i);
  }
  std::vector<Item> soon(10);
  for (int i = 0; i < 10; ++i) wheel.Arm(&soon[i], 100 * (i + 1));
  const TimerWheel::Stats before = wheel.stats();
  size_t fired = 0;
  for (uint64_t now = 1; now <= 1000; ++now) {
    fired += wheel.Advance(now, [](TimerWheel::Timer*) {});
  }
  const TimerWheel::Stats after = wheel.stats();
  EXPECT_EQ(fired, 10u);
  // Ten level-1 slots moved down (one timer each), ten level-0 slots fired.
  EXPECT_LE(after.slots_taken - before.slots_taken, 20u);
  EXPECT_LE(after.cascaded - before.cascaded, 10u);
  for (auto& item : idle) wheel.Cancel(item.get());
}

}  // namespace
}  // namespace ringside
