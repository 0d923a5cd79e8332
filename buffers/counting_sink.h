// counting_sink.h: a ReleaseSink for tests that counts retains and releases per word,
// standing in for the BufferManager where a test hands out BufferLeases of its own.
//
//   CountingSink sink;
//   BufferLease lease(&sink, word, data, size);
//   lease.Reset();
//   EXPECT_EQ(sink.Count(word), 1);
//
// Test-only; thread-compatible.
#ifndef RINGSIDE_BUFFERS_COUNTING_SINK_H_
#define RINGSIDE_BUFFERS_COUNTING_SINK_H_

#include <cstdint>
#include <map>

#include "ringside/buffers/buffer_lease.h"

namespace ringside {

class CountingSink : public ReleaseSink {
 public:
  void Release(uint64_t word) override {
    ++released[word];
    ++releases;
  }
  void Retain(uint64_t word) override { ++retained[word]; }
  // Releases of `word` so far.
  int Count(uint64_t word) const {
    auto it = released.find(word);
    return it == released.end() ? 0 : it->second;
  }

  std::map<uint64_t, int> released;
  std::map<uint64_t, int> retained;
  int releases = 0;  // of every word
};

}  // namespace ringside

#endif  // RINGSIDE_BUFFERS_COUNTING_SINK_H_
