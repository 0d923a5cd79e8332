// The consumer's own queue/mpsc_queue.h: same path as ringside's queue/mpsc_queue.h, which
// an unprefixed include inside ringside would have picked up instead of its own.
#ifndef CONSUMER_QUEUE_MPSC_QUEUE_H_
#define CONSUMER_QUEUE_MPSC_QUEUE_H_

namespace consumer {
inline constexpr int kOwnQueue = 1;
}  // namespace consumer

#endif  // CONSUMER_QUEUE_MPSC_QUEUE_H_
