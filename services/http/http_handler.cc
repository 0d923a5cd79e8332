#include "ringside/services/http/http_handler.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "ringside/net/http_response.h"
#include "ringside/reactor/reactor.h"

namespace ringside::http {
namespace {

// A batch of requests lent to a worker, and its answers. Taken from the reactor thread's
// pool (BatchPool) and given back there once its answers are sent (or its connection
// closed), so the answers' room is reused: a string of a batch's answers (about 2 KiB for
// 16 pipelined requests) is past malloc's per-thread cache, and allocating and freeing one
// per batch took 30 ns of worker-mode CPU per request in malloc's bins.
struct WorkerBatch {
  ConnectionHandle handle;
  net::HttpLimits limits;  // a copy: the worker may run it after the handler is gone
  BufferLease requests;
  std::string last_response;  // after the answers: an error response, or empty
  std::string responses;
  bool close_after = false;
  // Owns the batch while it travels to the worker as a raw pointer, which fits
  // std::function's inline room, so posting it costs no allocation.
  std::shared_ptr<WorkerBatch> self;
};

// Batches this thread keeps for reuse (as many as its connections have out at once, one
// per busy connection; more are freed), each with the room of a typical batch's answers,
// not the largest it ever held: at most 2 MiB a reactor thread.
constexpr size_t kKeptBatches = 128;
constexpr size_t kKeptAnswerBytes = 16 << 10;

std::vector<std::unique_ptr<WorkerBatch>>& BatchPool() {
  thread_local std::vector<std::unique_ptr<WorkerBatch>> pool;
  return pool;
}

// Runs on the thread that drops the batch's last reference: the reactor's, but for tasks
// dropped unrun when a reactor ends (then the pool of whichever thread destroys them,
// freed when that thread exits).
void RecycleBatch(WorkerBatch* batch) {
  std::vector<std::unique_ptr<WorkerBatch>>& pool = BatchPool();
  if (pool.size() >= kKeptBatches || batch->responses.capacity() > kKeptAnswerBytes) {
    delete batch;
    return;
  }
  batch->requests.Reset();
  batch->last_response.clear();
  batch->responses.clear();
  pool.emplace_back(batch);
}

std::shared_ptr<WorkerBatch> TakeBatch() {
  std::vector<std::unique_ptr<WorkerBatch>>& pool = BatchPool();
  WorkerBatch* batch = nullptr;
  if (pool.empty()) {
    batch = new WorkerBatch;
  } else {
    batch = pool.back().release();
    pool.pop_back();
  }
  return std::shared_ptr<WorkerBatch>(batch, RecycleBatch);
}

// Worker-side state: each worker thread has its own app (and Date cache), parser and body.
struct WorkerState {
  explicit WorkerState(const net::HttpLimits& limits) : parser(limits) {}
  HttpApp app;
  net::HttpParser parser;
  net::HttpRequest request;
  std::string body;
  // Answers of this drain, per reactor, sent back together at the end of the drain: one
  // task and one wake-up per reactor instead of one per batch (on a shared core, each
  // wake-up was a switch to the reactor and back).
  std::vector<std::pair<Reactor*, std::vector<Reactor::ConnectionTask>>> replies;
};

WorkerState& ThisWorker(const net::HttpLimits& limits) {
  thread_local WorkerState state(limits);
  return state;
}

void SendReplies(WorkerState& worker) {
  for (auto& [reactor, tasks] : worker.replies) reactor->PostToConnections(std::move(tasks));
  worker.replies.clear();
}

constexpr size_t kRepliesReserved = 64;

void QueueReply(WorkerState& worker, const ConnectionHandle& handle,
                std::function<void(ConnectionIo&)> fn) {
  if (worker.replies.empty()) WorkerPool::AtBatchEnd([&worker] { SendReplies(worker); });
  auto it = std::find_if(worker.replies.begin(), worker.replies.end(),
                         [&](const auto& entry) { return entry.first == handle.reactor; });
  if (it == worker.replies.end()) {
    worker.replies.emplace_back(handle.reactor, std::vector<Reactor::ConnectionTask>());
    it = worker.replies.end() - 1;
    // A drain answers a batch per connection the reactor had ready: one allocation for
    // most drains instead of a vector regrown several times.
    it->second.reserve(kRepliesReserved);
  }
  it->second.push_back({handle, std::move(fn)});
}

// The workers this reactor thread posted batches to in the current loop iteration without
// waking them: each is woken once, at the iteration's end.
std::vector<std::pair<WorkerPool*, size_t>>& OwedWakes() {
  thread_local std::vector<std::pair<WorkerPool*, size_t>> owed;
  return owed;
}

void OweWake(WorkerPool* pool, size_t worker) {
  std::vector<std::pair<WorkerPool*, size_t>>& owed = OwedWakes();
  if (std::find(owed.begin(), owed.end(), std::pair(pool, worker)) != owed.end()) return;
  owed.emplace_back(pool, worker);
  if (owed.size() > 1) return;  // the first one's wake-up is on its way
  Reactor::AtIterationEnd([] {
    for (auto [pool, worker] : OwedWakes()) pool->Wake(worker);
    OwedWakes().clear();
  });
}

// Responses are formatted into this reactor thread's scratch string, then copied into the
// connection's output blocks once per OnInput: one append for a whole pipelined batch.
std::string& Scratch() {
  thread_local std::string scratch;
  return scratch;
}

void FlushScratch(ConnectionIo& io) {
  std::string& scratch = Scratch();
  io.output().AppendOrSpill(scratch);
  scratch.clear();
}

constexpr size_t kScratchFlushBytes = 16 << 10;

// The answer this reactor thread may send again, without a parse, to a request whose bytes
// are the head of the parser memo's entry `head_generation` (HttpHandler's header).
struct KeptAnswer {
  uint64_t head_generation = 0;  // 0: none
  size_t date_at = 0;            // where the response's Date value starts
  std::string response;          // at most kMaxRepeatedAnswerBytes
};

KeptAnswer& ThreadKeptAnswer() {
  thread_local KeptAnswer kept;
  return kept;
}

constexpr std::string_view kDateField = "\r\nDate: ";

// The request's views pointed into bytes that now live at `to` instead of `from`.
void Rebase(const char* from, const char* to, net::HttpRequest* request) {
  if (from == to) return;
  auto move = [&](std::string_view& view) {
    if (view.data() != nullptr) view = std::string_view(to + (view.data() - from), view.size());
  };
  move(request->method);
  move(request->target);
  move(request->path);
  move(request->query);
  for (net::HttpHeader& header : request->headers) {
    move(header.name);
    move(header.value);
  }
}

constexpr size_t kKeptWorkerBodyBytes = 64 << 10;

// Exchanges this thread keeps for the next connection that needs one: as many as there are
// connections in the middle of a request at once, typically a few; more are freed.
constexpr size_t kKeptExchanges = 64;

// Parses the complete requests of `batch` again and answers them into `responses`.
void AnswerBatch(WorkerState& worker, std::string_view batch, std::string* responses) {
  for (;;) {
    const net::ParseResult r = worker.parser.Parse(batch, &worker.request);
    batch.remove_prefix(r.consumed);
    switch (r.status) {
      case net::ParseStatus::kHead:
        worker.body.clear();
        continue;
      case net::ParseStatus::kBody:
        worker.body.append(r.body_segment);
        continue;
      case net::ParseStatus::kComplete:
        worker.app.Handle(worker.request, worker.body, responses);
        // A worker keeps a typical body's room, not the largest body it ever joined.
        if (worker.body.capacity() > kKeptWorkerBodyBytes) std::string().swap(worker.body);
        continue;
      case net::ParseStatus::kNeedMore:
      case net::ParseStatus::kError:  // cannot happen: the reactor cut whole, valid requests
        return;
    }
  }
}

}  // namespace

struct HttpHandler::Exchange {
  explicit Exchange(const net::HttpLimits& limits) : parser(limits), limits(limits) {}
  net::HttpParser parser;
  const net::HttpLimits limits;  // the parser's: an exchange serves handlers with these
  net::HttpRequest request;
  uint64_t body_bytes = 0;  // of the current request's body, as parsed so far
  uint64_t body_mark = 0;   // body_bytes when the current body window started
  // Inline: the request whose body is being read. Its head's views point into head.
  BufferLease head;
  BodyUse body_use = BodyUse::kDrop;
  absl::InlinedVector<BufferLease, 4> body;
  size_t body_leased = 0;
  std::string body_copy;  // the body past kLeasedBodyBytes
  // Worker mode: bytes given to the parser and not yet dropped from the input, everything
  // parsed since the last batch.
  size_t parsed = 0;
  size_t batch_end = 0;  // worker mode: where the last complete request ends
  bool served_here = false;  // worker mode: the current request (an echo) is served inline
  TimerFor timer_for = TimerFor::kNone;  // what the connection's timer is armed for
};

std::vector<std::unique_ptr<HttpHandler::Exchange>>& HttpHandler::ExchangePool() {
  thread_local std::vector<std::unique_ptr<Exchange>> pool;
  return pool;
}

HttpHandler::HttpHandler(const Settings* settings) : settings_(settings) {}

HttpHandler::~HttpHandler() = default;

void HttpHandler::OnInput(ConnectionIo& io) {
  TakeExchange();
  if (settings_->workers == nullptr) {
    OnInputInline(io);
  } else {
    OnInputBatched(io);
  }
  ReturnExchangeIfIdle(io);
}

void HttpHandler::TakeExchange() {
  if (x_ != nullptr) return;
  std::vector<std::unique_ptr<Exchange>>& pool = ExchangePool();
  // Every handler of a reactor has the same limits; a pool entry made for other limits (a
  // test's earlier server on a reused thread) is replaced.
  if (!pool.empty() && pool.back()->limits == settings_->limits) {
    x_ = std::move(pool.back());
    pool.pop_back();
  } else {
    x_ = std::make_unique<Exchange>(settings_->limits);
  }
}

void HttpHandler::ReturnExchangeIfIdle(ConnectionIo& io) {
  if (x_ == nullptr || !x_->parser.at_request_start() || !io.input().empty() ||
      x_->parsed != 0 || x_->batch_end != 0 || x_->served_here || x_->head.holds_buffer() ||
      !x_->body.empty() || x_->timer_for != TimerFor::kNone) {
    return;
  }
  std::vector<std::unique_ptr<Exchange>>& pool = ExchangePool();
  if (pool.size() < kKeptExchanges) pool.push_back(std::move(x_));
  x_.reset();
}

void HttpHandler::OnInputInline(ConnectionIo& io) {
  InputStream& in = io.input();
  KeptAnswer& kept = ThreadKeptAnswer();
  if (kept.head_generation != 0 &&
      app().Date() != std::string_view(kept.response).substr(kept.date_at, net::DateCache::kSize)) {
    kept.head_generation = 0;  // a second has passed: the next repeat is answered afresh
  }
  bool close_after = false;
  bool completed_any = false;
  while (!close_after) {
    const std::string_view input = in.pending();
    if (input.size() < x_->parser.bytes_needed()) break;
    if (kept.head_generation != 0) {
      // A run of repeats is answered, then dropped from the input, at once.
      if (const size_t answered = AnswerRepeats(io, input)) {
        in.Consume(answered);
        completed_any = true;
        continue;
      }
    }
    const net::ParseResult r = x_->parser.Parse(input, &x_->request);
    CountBodyBytes(r);
    if (r.send_continue) Scratch().append(net::kContinueResponse);
    const Step step = Serve(io, r, input);
    if (step == Step::kFailed) return;
    if (step == Step::kWait) break;
    if (step == Step::kCompleted) {
      completed_any = true;
      close_after = !x_->request.keep_alive;
    }
  }
  UpdateRequestTimer(io, completed_any);
  FlushScratch(io);
  if (close_after) io.CloseAfterFlush();
}

size_t HttpHandler::AnswerRepeats(ConnectionIo& io, std::string_view input) {
  const KeptAnswer& kept = ThreadKeptAnswer();
  std::string& scratch = Scratch();
  size_t answered = 0;
  for (;;) {
    // No more at a time than take the scratch string to its flush mark, as one by one.
    const size_t room =
        (kScratchFlushBytes - std::min(scratch.size(), kScratchFlushBytes)) / kept.response.size() +
        1;
    size_t bytes = 0;
    const size_t heads = x_->parser.SkipRepeatedHeads(input.substr(answered),
                                                      kept.head_generation, room, &bytes);
    for (size_t i = 0; i < heads; ++i) {
      io.CountRequest();
      scratch.append(kept.response);
    }
    answered += bytes;
    if (scratch.size() >= kScratchFlushBytes) FlushScratch(io);
    if (heads < room) return answered;
  }
}

void HttpHandler::KeepAnswer(std::string_view response) {
  const uint64_t generation = x_->parser.recalled_generation();
  if (generation == 0 || !x_->request.keep_alive || response.size() > kMaxRepeatedAnswerBytes) {
    return;
  }
  const size_t date_field = response.find(kDateField);
  if (date_field == std::string_view::npos) return;
  KeptAnswer& kept = ThreadKeptAnswer();
  kept.head_generation = generation;
  kept.date_at = date_field + kDateField.size();
  kept.response.assign(response);
}

HttpHandler::Step HttpHandler::Serve(ConnectionIo& io, const net::ParseResult& r,
                                     std::string_view input) {
  switch (r.status) {
    case net::ParseStatus::kNeedMore:
      io.input().Consume(r.consumed);  // chunk framing the parser is done with
      return Step::kWait;
    case net::ParseStatus::kError:
      Fail(io, r.error_status);
      return Step::kFailed;
    case net::ParseStatus::kHead:
      if (x_->request.has_body()) {
        StartBody(io, r.consumed);
        return Step::kNext;
      }
      // Complete at its head, answered from the input in place (the parser is told,
      // rather than asked once more).
      x_->parser.EndBodilessRequest();
      break;
    case net::ParseStatus::kBody:
      TakeSegment(io, r.body_segment.data() - input.data(), r.body_segment.size());
      return Step::kNext;
    case net::ParseStatus::kComplete:
      break;
  }
  io.CountRequest();
  FinishRequest(io);
  io.input().Consume(r.consumed);
  return Step::kCompleted;
}

// The head of a request with a body: its bytes become a lease (the request's views move
// with them), so the raw input can be dropped as the body streams in.
void HttpHandler::StartBody(ConnectionIo& io, size_t head_size) {
  InputStream& in = io.input();
  const char* const at = in.pending().data();
  x_->head = in.Lend(head_size);
  Rebase(at, x_->head.data(), &x_->request);
  if (!HttpApp::ReadsBody(x_->request)) {
    x_->body_use = BodyUse::kDrop;
  } else if (HttpApp::Echoes(x_->request) && !x_->request.chunked &&
             x_->request.body_length > kLeasedBodyBytes) {
    // Too large to hold in the connection's ring: answer now and send each segment as it
    // arrives (the length is known, so the response needs nothing else from the body).
    StartEchoStream(io);
  } else {
    x_->body_use = BodyUse::kKeep;
  }
}

void HttpHandler::StartEchoStream(ConnectionIo& io) {
  const size_t kept = x_->body_leased + x_->body_copy.size();
  if (x_->request.chunked) {
    // The parser refuses chunked HTTP/1.0 requests (400), so the client takes chunked.
    x_->body_use = BodyUse::kStreamChunked;
    app().AppendEchoHead(x_->request, std::nullopt, &Scratch());
    if (kept > 0) {
      net::AppendChunkSize(kept, &Scratch());
      AppendKeptBody(io);
      Scratch().append("\r\n");
    }
  } else {
    x_->body_use = BodyUse::kStream;
    app().AppendEchoHead(x_->request, x_->request.body_length, &Scratch());
    AppendKeptBody(io);
  }
  FlushScratch(io);
}

void HttpHandler::AppendKeptBody(ConnectionIo& io) {
  FlushScratch(io);
  for (BufferLease& segment : x_->body) io.output().AppendLease(std::move(segment));
  x_->body.clear();
  x_->body_leased = 0;
  if (!x_->body_copy.empty()) {
    io.output().AppendShared(std::make_shared<const std::string>(std::move(x_->body_copy)));
  }
  std::string().swap(x_->body_copy);
}

void HttpHandler::StreamSegment(ConnectionIo& io, size_t size) {
  std::string& scratch = Scratch();
  if (x_->body_use == BodyUse::kStream) {
    FlushScratch(io);
    io.output().AppendLease(io.input().Lend(size));
    return;
  }
  net::AppendChunkSize(size, &scratch);
  if (size < kCopiedChunkBytes) {
    io.input().CopyOut(size, &scratch);
  } else {
    FlushScratch(io);
    io.output().AppendLease(io.input().Lend(size));
  }
  scratch.append("\r\n");
  if (scratch.size() >= kScratchFlushBytes) FlushScratch(io);
}

void HttpHandler::TakeSegment(ConnectionIo& io, size_t framing, size_t size) {
  InputStream& in = io.input();
  in.Consume(framing);
  switch (x_->body_use) {
    case BodyUse::kDrop:
      in.Consume(size);
      return;
    case BodyUse::kStream:
    case BodyUse::kStreamChunked:
      StreamSegment(io, size);
      return;
    case BodyUse::kKeep: {
      const size_t kept = x_->body_leased + x_->body_copy.size();
      const bool fits = kept + size <= kLeasedBodyBytes;
      if (x_->body_copy.empty() && fits && io.can_hold_input()) {
        // Leased while the ring can spare its buffers; once copying starts, it goes on, so
        // the leased bytes stay a prefix of the body.
        x_->body.push_back(in.Lend(size));
        x_->body_leased += size;
      } else if (HttpApp::Echoes(x_->request) && x_->request.chunked && !fits) {
        // A chunked echo past what a request may keep: its response starts now, in chunks,
        // and the rest of its body goes out as it arrives. (Under kLeasedBodyBytes it is
        // copied when the ring runs low, so that its answer does not depend on that.)
        StartEchoStream(io);
        StreamSegment(io, size);
      } else {
        in.CopyOut(size, &x_->body_copy);
      }
      return;
    }
  }
}

void HttpHandler::FinishRequest(ConnectionIo& io) {
  if (!x_->head.holds_buffer()) {
    // A request without a body (the pipelined common case): answered from the input in
    // place, nothing to let go.
    std::string& scratch = Scratch();
    const size_t start = scratch.size();
    app().Handle(x_->request, {}, &scratch);
    KeepAnswer(std::string_view(scratch).substr(start));
    if (scratch.size() >= kScratchFlushBytes) FlushScratch(io);
    return;
  }
  if (x_->body_use == BodyUse::kStream) {
    // Answered at its head; its body went out as it came.
  } else if (x_->body_use == BodyUse::kStreamChunked) {
    Scratch().append(net::kLastChunk);
  } else if (HttpApp::Echoes(x_->request)) {
    app().AppendEchoHead(x_->request, x_->body_leased + x_->body_copy.size(),
                         &Scratch());
    AppendKeptBody(io);
  } else if (x_->body.size() == 1 && x_->body_copy.empty()) {
    app().Handle(x_->request, x_->body[0].view(), &Scratch());
  } else {
    std::string joined;
    for (const BufferLease& segment : x_->body) joined.append(segment.view());
    joined.append(x_->body_copy);
    app().Handle(x_->request, joined, &Scratch());
  }
  if (Scratch().size() >= kScratchFlushBytes) FlushScratch(io);
  x_->head.Reset();
  x_->body.clear();
  x_->body_leased = 0;
  std::string().swap(x_->body_copy);
  x_->body_use = BodyUse::kDrop;
}

void HttpHandler::Fail(ConnectionIo& io, int status) {
  // Nothing after a malformed request is processed: its error response follows those of
  // the requests before it, then the connection closes. A response already under way (a
  // streamed echo) gets no error response after it: it ends short (a chunked one without
  // its last chunk), and the close tells the client.
  io.CountRejectedRequest();
  if (!response_under_way()) app().HandleParseError(status, &Scratch());
  FlushScratch(io);
  io.CloseAfterFlush();
}

bool HttpHandler::response_under_way() const {
  return x_ != nullptr &&
         (x_->body_use == BodyUse::kStream || x_->body_use == BodyUse::kStreamChunked);
}

void HttpHandler::OnInputBatched(ConnectionIo& io) {
  InputStream& in = io.input();
  bool close_after = false;
  bool completed_any = false;
  int error_status = 0;
  while (!close_after && error_status == 0) {
    const std::string_view input = in.pending().substr(x_->parsed);
    if (input.size() < x_->parser.bytes_needed()) break;
    const net::ParseResult r = x_->parser.Parse(input, &x_->request);
    if (r.status == net::ParseStatus::kHead && !x_->served_here &&
        HttpApp::Echoes(x_->request) && x_->request.has_body()) {
      if (x_->batch_end > 0) {
        // Served after the batch before it, whose answers come first: parsed again when
        // input resumes.
        x_->parser.Reset();
        break;
      }
      x_->served_here = true;
    }
    CountBodyBytes(r);
    if (r.send_continue) Scratch().append(net::kContinueResponse);
    if (x_->served_here) {
      // An echo needs nothing of the app but its head: the reactor streams it as inline
      // mode does, from the receive buffers, instead of lending it whole to a worker.
      const Step step = Serve(io, r, input);
      if (step == Step::kFailed) return;
      if (step == Step::kWait) break;
      if (step == Step::kCompleted) {
        x_->served_here = false;
        completed_any = true;
        close_after = !x_->request.keep_alive;
      }
      continue;
    }
    x_->parsed += r.consumed;
    if (r.status == net::ParseStatus::kNeedMore) break;
    if (r.status == net::ParseStatus::kError) error_status = r.error_status;
    if (r.status == net::ParseStatus::kComplete) {
      io.CountRequest();
      completed_any = true;
      x_->batch_end = x_->parsed;
      close_after = !x_->request.keep_alive;
    }
  }
  if (error_status == 0 &&
      x_->parsed - x_->batch_end > MaxBatchedRequestBytes(settings_->limits)) {
    // Its raw bytes would not fit the input: chunk framing of a body near max_body.
    error_status = 413;
  }
  UpdateRequestTimer(io, completed_any);
  FlushScratch(io);
  if (error_status != 0) {
    io.CountRejectedRequest();
    std::string error;
    app().HandleParseError(error_status, &error);
    if (x_->batch_end == 0) {
      io.output().AppendOrSpill(error);
      io.CloseAfterFlush();
      return;
    }
    close_after = true;
    PostBatch(io, in.Lend(x_->batch_end), close_after, std::move(error));
  } else if (x_->batch_end > 0) {
    PostBatch(io, in.Lend(x_->batch_end), close_after, /*last_response=*/"");
  } else if (close_after) {
    io.CloseAfterFlush();
  }
  x_->parsed -= x_->batch_end;
  x_->batch_end = 0;
}

void HttpHandler::OnTimeout(ConnectionIo& io) {
  // Armed only for a head or a body in progress, which holds the exchange.
  if (x_ == nullptr) return;
  const bool body = x_->timer_for == TimerFor::kBody;
  x_->timer_for = TimerFor::kNone;
  if (body) io.CountBodyTimeout();
  io.CountRejectedRequest();
  // A streamed echo's response is under way: it ends short (of its Content-Length, or
  // without its last chunk), and the close tells the client. Otherwise: 408.
  if (!response_under_way()) {
    app().HandleParseError(408, &Scratch());
    FlushScratch(io);
  }
  io.CloseAfterFlush();
}

void HttpHandler::CountBodyBytes(const net::ParseResult& r) {
  if (r.status == net::ParseStatus::kHead) {
    x_->body_bytes = 0;
    x_->body_mark = 0;
  } else if (r.status == net::ParseStatus::kBody || r.status == net::ParseStatus::kNeedMore) {
    x_->body_bytes += r.consumed;  // 0 for a partial head
  }
}

// A head's clock runs from its first byte, not its latest: a client trickling one byte at
// a time must not keep the connection forever. A new head (after a completed request)
// starts a new clock. A body's clock restarts each time the body brought another window's
// worth of bytes since the last restart (a re-arm costs no timer work in the reactor: it
// only moves the deadline later).
void HttpHandler::UpdateRequestTimer(ConnectionIo& io, bool new_request) {
  TimerFor want = TimerFor::kNone;
  if (x_->parser.head_complete()) {
    if (settings_->body_timeout_ms > 0) want = TimerFor::kBody;
  } else if (!io.input().empty()) {
    want = TimerFor::kHead;
  }
  switch (want) {
    case TimerFor::kHead:
      if (x_->timer_for != TimerFor::kHead || new_request) {
        io.ArmTimer(settings_->header_timeout_ms);
      }
      break;
    case TimerFor::kBody:
      if (x_->timer_for != TimerFor::kBody || new_request) {
        x_->body_mark = 0;  // the window starts at the head's end
        io.ArmTimer(settings_->body_timeout_ms);
      } else if (x_->body_bytes - x_->body_mark >=
                 BodyWindowBytes(settings_->body_timeout_ms, settings_->body_min_rate)) {
        x_->body_mark = x_->body_bytes;
        io.ArmTimer(settings_->body_timeout_ms);
      }
      break;
    case TimerFor::kNone:
      if (x_->timer_for != TimerFor::kNone) io.CancelTimer();
      break;
  }
  x_->timer_for = want;
}

void HttpHandler::PostBatch(ConnectionIo& io, BufferLease requests, bool close_after,
                            std::string last_response) {
  io.PauseInput();
  std::shared_ptr<WorkerBatch> batch = TakeBatch();
  batch->handle = io.handle();
  batch->limits = settings_->limits;
  batch->requests = std::move(requests);
  batch->last_response = std::move(last_response);
  batch->close_after = close_after;
  // Responses are about as long as their requests (an echo is longer by a head). Reserved
  // here, on the thread whose pool the batch goes back to; a reused batch has the room.
  batch->responses.reserve(batch->requests.size() + batch->last_response.size() + 512);
  WorkerBatch* raw = batch.get();
  raw->self = std::move(batch);
  WorkerPool* const workers = settings_->workers;
  const size_t worker = io.handle().connection_id % workers->size();
  workers->PostQuietly(worker, [raw] {
    std::shared_ptr<WorkerBatch> batch = std::move(raw->self);
    WorkerState& worker = ThisWorker(batch->limits);
    AnswerBatch(worker, batch->requests.view(), &batch->responses);
    // Released here, on the worker: the release travels on the reactor's release queue.
    batch->requests.Reset();
    batch->responses.append(batch->last_response);
    const ConnectionHandle handle = batch->handle;
    QueueReply(worker, handle, [batch = std::move(batch)](ConnectionIo& c) {
      // By reference: the answers are sent as the worker wrote them, and the batch is
      // freed once they are.
      c.output().AppendShared(batch, batch->responses);
      if (batch->close_after) {
        c.CloseAfterFlush();
      } else {
        c.ResumeInput();
      }
    });
  });
  OweWake(workers, worker);
}

}  // namespace ringside::http
