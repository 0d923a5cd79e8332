#include "ringside/services/admin/ring_admin_service.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ringside/services/admin/bearer_token.h"

namespace ringside::admin {
namespace {

void ToProto(const ConnectionStats& s, bool with_buffers, v1::Connection* out) {
  out->set_connection_id(s.connection_id);
  out->set_reactor_id(s.reactor_id);
  out->set_fd(s.fd);
  out->set_peer(s.peer);
  out->set_incremental(s.incremental);
  out->set_bgid(s.bgid);
  out->set_ring_entries(s.ring_entries);
  out->set_buffer_size(s.buffer_size);
  out->set_recv_completions(s.recv_completions);
  out->set_recv_bytes(s.recv_bytes);
  out->set_buf_more_completions(s.buf_more_completions);
  out->set_buffers_recycled(s.buffers_recycled);
  out->set_enobufs_stalls(s.enobufs_stalls);
  out->set_stale_releases(s.stale_releases);
  out->set_bytes_sent(s.bytes_sent);
  out->set_requests(s.requests);
  out->set_rearms(s.rearms);
  out->set_ring_attached(s.ring_attached);
  out->set_buffers_held(s.buffers_held);
  out->set_retired_bytes(s.retired_bytes);
  out->set_input_bytes_held(s.input_bytes_held);
  out->set_output_bytes_queued(s.output_bytes_queued);
  out->set_socket_peer(s.socket_peer);
  out->set_proxy_version(s.proxy_version);
  if (!with_buffers) return;
  for (size_t bid = 0; bid < s.buffers.size(); ++bid) {
    v1::BufferStats* b = out->add_buffers();
    b->set_bid(static_cast<uint32_t>(bid));
    b->set_offset(s.buffers[bid].offset);
    b->set_readers(s.buffers[bid].readers);
    b->set_kernel_done(s.buffers[bid].kernel_done);
  }
}

void ToProto(const ReactorTotals& t, v1::ReactorStats* out) {
  out->set_reactor_id(t.reactor_id);
  out->set_connections(t.connections);
  out->set_bgids_in_use(static_cast<uint32_t>(t.buffers.bgids_in_use));
  out->set_bgids_free(static_cast<uint32_t>(t.buffers.bgids_free));
  out->set_release_queue_depth(t.release_queue_depth);
  out->set_release_queue_high_water(t.release_queue_high_water);
  out->set_cqes(t.cqes);
  out->set_loop_iterations(t.loop_iterations);
  out->set_submits(t.submits);
  out->set_enobufs_stalls(t.enobufs_stalls);
  out->set_stale_releases(t.buffers.stale_releases);
  out->set_connections_accepted(t.connections_accepted);
  out->set_connections_refused(t.connections_refused);
  out->set_pooled_rings(t.buffers.rings_pooled);
  out->set_buffer_bytes_reserved(t.buffers.reserved_bytes);
  out->set_idle_detaches(t.idle_detaches);
  out->set_input_bytes_copied(t.input_bytes_copied);
  out->set_rings_live(t.buffers.rings_live);
  out->set_rings_awaiting_release(t.buffers.rings_awaiting_release);
  out->set_budget_refusals(t.buffers.budget_refusals);
  out->set_bgid_refusals(t.buffers.bgid_refusals);
  out->set_refused_connection_limit(t.refused_connection_limit);
  out->set_refused_stopping(t.refused_stopping);
  out->set_idle_timeouts(t.idle_timeouts);
  out->set_handler_timeouts(t.handler_timeouts);
  out->set_requests_rejected(t.requests_rejected);
  out->set_backpressure_pauses(t.backpressure_pauses);
  out->set_recv_completions(t.recv_completions);
  out->set_buffers_recycled(t.buffers_recycled);
  out->set_retired_bytes(t.retired_bytes);
  out->set_input_bytes_held(t.input_bytes_held);
  out->set_output_bytes_queued(t.output_bytes_queued);
  out->set_output_blocks_in_use(t.output_blocks_in_use);
  out->set_output_blocks_cached(t.output_blocks_cached);
  out->set_output_pool_blocks(t.output_pool_blocks);
  out->set_output_block_size(t.output_block_size);
  out->set_output_pool_refusals(t.output_pool_refusals);
  out->set_send_timeouts(t.send_timeouts);
  out->set_releases_queued(t.buffers.releases_queued);
  out->set_shared_ring_fallbacks(t.shared_ring_fallbacks);
  out->set_ring_memory_refusals(t.buffers.memory_refusals);
  out->set_accept_failures(t.accept_failures);
  out->set_body_timeouts(t.body_timeouts);
  out->set_timer_fires(t.timer_fires);
  out->set_connection_slots(t.connection_slots);
  out->set_connection_objects(t.connection_objects);
  out->set_requests(t.requests);
  out->set_recv_bytes(t.recv_bytes);
  out->set_bytes_sent(t.bytes_sent);
  out->set_buf_more_completions(t.buf_more_completions);
  for (const uint64_t count : t.buffers.recycles.counts) out->add_recycled_by_completions(count);
  out->set_proxy_headers_accepted(t.proxy_headers_accepted);
  out->set_proxy_refused_untrusted(t.proxy_refused_untrusted);
  out->set_proxy_refused_missing(t.proxy_refused_missing);
  out->set_proxy_refused_malformed(t.proxy_refused_malformed);
  out->set_proxy_refused_incomplete(t.proxy_refused_incomplete);
}

// Protobuf wire format, for messages assembled from pieces serialized once.
constexpr uint8_t kSequenceTag = (1 << 3) | 0;     // ConnectionsSnapshot.sequence, varint
constexpr uint8_t kConnectionTag = (2 << 3) | 2;   // .connections, length-delimited
constexpr uint8_t kClosedIdsTag = (3 << 3) | 2;    // .closed_connection_ids, packed
constexpr uint8_t kReactorTag = (4 << 3) | 2;      // .reactors, length-delimited

void AppendVarint(std::string* out, uint64_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

void AppendLengthDelimited(std::string* out, uint8_t tag, const std::string& bytes) {
  out->push_back(static_cast<char>(tag));
  AppendVarint(out, bytes.size());
  out->append(bytes);
}

using Clock = std::chrono::steady_clock;

}  // namespace

// One reactor's snapshot, serialized once for every watch: its ReactorStats and each
// connection as ready-made fields of a ConnectionsSnapshot, connections by ascending id.
struct RingAdminService::SharedSnapshot {
  int64_t slot;                    // the hub's kMinWatchIntervalMs slot it was taken in
  std::string reactor;             // one `reactors` field
  std::string connections;         // every `connections` field, in id order
  std::vector<uint64_t> ids;       // ascending
  std::vector<size_t> offsets;     // connection i is connections[offsets[i], offsets[i+1])

  std::string_view connection(size_t i) const {
    return std::string_view(connections).substr(offsets[i], offsets[i + 1] - offsets[i]);
  }
};

// One WatchConnections stream. The hub alone starts writes and finishes it, and it is
// deleted in OnDone, which gRPC runs only after Finish: so the hub may use it outside mu_
// until it finishes it. The fields below `sequence` are guarded by the service's mu_.
class RingAdminService::Watch final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  Watch(RingAdminService* service, std::vector<size_t> reactors, uint32_t interval_ms,
        bool changed_only)
      : service_(service),
        reactors(std::move(reactors)),
        interval(std::chrono::milliseconds(interval_ms)),
        changed_only(changed_only),
        previous(this->reactors.size()) {}

  void OnWriteDone(bool ok) override { service_->OnWatchWriteDone(this, ok); }
  void OnCancel() override { service_->OnWatchCancel(this); }
  void OnDone() override { service_->OnWatchDone(this); }

 private:
  RingAdminService* const service_;

 public:
  // Hub thread only.
  const std::vector<size_t> reactors;
  const Clock::duration interval;
  const bool changed_only;
  std::vector<std::shared_ptr<const SharedSnapshot>> previous;  // what the last message showed
  std::string head;      // sequence, totals, changed connections, closed ids
  grpc::ByteBuffer message;
  uint64_t sequence = 0;
  // Guarded by mu_.
  Clock::time_point due = Clock::now();
  bool writing = false;    // a message is in flight
  bool cancelled = false;
  bool client_gone = false;  // a write failed
};

namespace {

// A call refused before it started: finishes at once with `status`.
class Refusal final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit Refusal(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

RingAdminService::RingAdminService(std::vector<Reactor*> reactors,
                                   std::map<std::string, std::string> configuration,
                                   RingAdminServiceOptions options,
                                   const AdminListenerCounters* listener)
    : reactors_(std::move(reactors)),
      configuration_(std::move(configuration)),
      options_(std::move(options)),
      listener_(listener),
      cache_(reactors_.size()),
      epoch_(Clock::now()),
      hub_([this] { RunHub(); }) {}

RingAdminService::~RingAdminService() {
  BeginShutdown();
  {
    std::unique_lock<std::mutex> lock(mu_);
    // Normally none is left: the gRPC server waited for every call.
    watch_gone_.wait(lock, [this] { return open_watches_ == 0; });
    stop_hub_ = true;
  }
  hub_wake_.notify_all();
  hub_.join();
}

void RingAdminService::BeginShutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
  }
  hub_wake_.notify_all();
}

bool RingAdminService::Authorized(const grpc::ServerContextBase* context) const {
  return options_.token.empty() ||
         (context != nullptr && BearerTokenAuthorized(context->client_metadata(), options_.token));
}

grpc::Status RingAdminService::SelectReactors(bool has_reactor_id, uint32_t reactor_id,
                                              std::vector<size_t>* selected) const {
  if (!has_reactor_id) {
    for (size_t i = 0; i < reactors_.size(); ++i) selected->push_back(i);
    return grpc::Status::OK;
  }
  for (size_t i = 0; i < reactors_.size(); ++i) {
    if (reactors_[i]->id() == reactor_id) {
      selected->push_back(i);
      return grpc::Status::OK;
    }
  }
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      absl::StrCat("reactor_id ", reactor_id, " does not exist; this server has ",
                                   reactors_.size(), " reactor(s), ids 0..",
                                   reactors_.empty() ? 0 : reactors_.size() - 1));
}

grpc::Status RingAdminService::ListConnections(grpc::ServerContext* context,
                                               const v1::ListConnectionsRequest* request,
                                               v1::ListConnectionsResponse* response) {
  if (!Authorized(context)) return UnauthenticatedStatus();
  const uint32_t max_results =
      request->max_results() == 0 ? kDefaultMaxResults : request->max_results();
  if (max_results > kMaxResults) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("max_results must be in 1..", kMaxResults, " (0 means ",
                                     kDefaultMaxResults, "), got ", request->max_results()));
  }
  std::vector<size_t> selected;
  if (grpc::Status s = SelectReactors(request->has_reactor_id(), request->reactor_id(), &selected);
      !s.ok()) {
    return s;
  }
  std::vector<ConnectionStats> page;
  for (size_t index : selected) {
    for (ConnectionStats& c : reactors_[index]->Snapshot().connections) {
      if (c.connection_id >= request->start_connection_id()) page.push_back(std::move(c));
    }
  }
  std::sort(page.begin(), page.end(), [](const ConnectionStats& a, const ConnectionStats& b) {
    return a.connection_id < b.connection_id;
  });
  response->set_end(page.size() <= max_results);
  if (page.size() > max_results) page.resize(max_results);
  for (const ConnectionStats& c : page) ToProto(c, false, response->add_connections());
  return grpc::Status::OK;
}

grpc::Status RingAdminService::GetConnection(grpc::ServerContext* context,
                                             const v1::GetConnectionRequest* request,
                                             v1::GetConnectionResponse* response) {
  if (!Authorized(context)) return UnauthenticatedStatus();
  if (request->connection_id() == 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "connection_id is required (ids start at 1)");
  }
  // Which reactor holds the connection is not known up front; ask each until one has it.
  for (Reactor* reactor : reactors_) {
    for (const ConnectionStats& c : reactor->Snapshot(/*with_buffers=*/true).connections) {
      if (c.connection_id == request->connection_id()) {
        ToProto(c, true, response->mutable_connection());
        return grpc::Status::OK;
      }
    }
  }
  return grpc::Status(grpc::StatusCode::NOT_FOUND,
                      absl::StrCat("no open connection has id ", request->connection_id(),
                                   " (it closed, or never existed)"));
}

grpc::Status RingAdminService::GetServerStats(grpc::ServerContext* context,
                                              const v1::GetServerStatsRequest*,
                                              v1::GetServerStatsResponse* response) {
  if (!Authorized(context)) return UnauthenticatedStatus();
  for (Reactor* reactor : reactors_) ToProto(reactor->Snapshot().totals, response->add_reactors());
  if (!reactors_.empty()) {
    // Every reactor runs the same configuration on the same kernel.
    const Reactor& first = *reactors_.front();
    response->set_effective_mode(first.incremental() ? "incremental" : "shared");
    for (const std::string& feature : first.features()) response->add_kernel_features(feature);
    response->set_fallback_reason(first.fallback_reason());
  }
  response->mutable_configuration()->insert(configuration_.begin(), configuration_.end());
  v1::AdminStats* admin = response->mutable_admin();
  if (listener_ != nullptr) {
    admin->set_connections(listener_->connections.load(std::memory_order_relaxed));
    admin->set_connections_accepted(listener_->connections_accepted.load(std::memory_order_relaxed));
    admin->set_connections_refused(listener_->connections_refused.load(std::memory_order_relaxed));
    admin->set_accept_errors(listener_->accept_errors.load(std::memory_order_relaxed));
    admin->set_max_connections(listener_->max_connections);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    admin->set_watches(open_watches_);
  }
  admin->set_watches_started(watches_started_.load(std::memory_order_relaxed));
  admin->set_watches_refused(watches_refused_.load(std::memory_order_relaxed));
  admin->set_max_watches(options_.max_watches);
  admin->set_watch_snapshots(watch_snapshots());
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* RingAdminService::WatchConnections(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes) {
  if (!Authorized(context)) return new Refusal(UnauthenticatedStatus());
  v1::WatchConnectionsRequest request;
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (request_bytes->Dump(&slices).ok()) {
    for (const grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  if (!request.ParseFromString(bytes)) {
    return new Refusal(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "the request is not a WatchConnectionsRequest"));
  }
  if (request.interval_ms() < kMinWatchIntervalMs || request.interval_ms() > kMaxWatchIntervalMs) {
    return new Refusal(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("interval_ms must be in ", kMinWatchIntervalMs, "..", kMaxWatchIntervalMs,
                     ", got ", request.interval_ms())));
  }
  std::vector<size_t> selected;
  if (grpc::Status s = SelectReactors(request.has_reactor_id(), request.reactor_id(), &selected);
      !s.ok()) {
    return new Refusal(std::move(s));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) {
    return new Refusal(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "the admin server is shutting down"));
  }
  if (open_watches_ >= options_.max_watches) {
    watches_refused_.fetch_add(1, std::memory_order_relaxed);
    return new Refusal(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("this server already has its maximum of ", options_.max_watches,
                     " watches open (--admin_max_watches); retry when one ends")));
  }
  ++open_watches_;
  watches_started_.fetch_add(1, std::memory_order_relaxed);
  auto* watch = new Watch(this, std::move(selected), request.interval_ms(), request.changed_only());
  watches_.push_back(watch);
  hub_wake_.notify_all();
  return watch;
}

void RingAdminService::OnWatchWriteDone(Watch* watch, bool ok) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    watch->writing = false;
    if (!ok) watch->client_gone = true;
  }
  hub_wake_.notify_all();
}

void RingAdminService::OnWatchCancel(Watch* watch) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    watch->cancelled = true;
  }
  hub_wake_.notify_all();
}

void RingAdminService::OnWatchDone(Watch* watch) {
  delete watch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    --open_watches_;
  }
  watch_gone_.notify_all();
}

void RingAdminService::RunHub() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_hub_) {
    const Clock::time_point now = Clock::now();
    Clock::time_point next = Clock::time_point::max();
    std::vector<std::pair<Watch*, grpc::Status>> finish;
    std::vector<Watch*> send;
    for (auto it = watches_.begin(); it != watches_.end();) {
      Watch* w = *it;
      if (w->writing) {  // OnWriteDone will wake the hub
        ++it;
        continue;
      }
      if (shutting_down_ || w->cancelled || w->client_gone) {
        finish.emplace_back(
            w, w->cancelled     ? grpc::Status::CANCELLED
               : w->client_gone ? grpc::Status::OK  // nobody is left to read a status
                                : grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                               "the admin server is shutting down"));
        it = watches_.erase(it);
        continue;
      }
      if (w->due <= now) {
        w->writing = true;
        w->due = std::max(w->due + w->interval, now);
        send.push_back(w);
      } else {
        next = std::min(next, w->due);
      }
      ++it;
    }
    if (finish.empty() && send.empty()) {
      if (next == Clock::time_point::max()) {
        hub_wake_.wait(lock);
      } else {
        hub_wake_.wait_until(lock, next);
      }
      continue;
    }
    // Taking snapshots waits for the reactors, and gRPC may call back into the service
    // from StartWrite and Finish: neither under mu_.
    lock.unlock();
    for (auto& [w, status] : finish) w->Finish(std::move(status));
    for (Watch* w : send) {
      BuildMessage(w, now);
      w->StartWrite(&w->message);
    }
    lock.lock();
  }
}

std::shared_ptr<const RingAdminService::SharedSnapshot> RingAdminService::SnapshotFor(
    size_t index, Clock::time_point now, const SharedSnapshot* previous) {
  const int64_t slot = (now - epoch_) / std::chrono::milliseconds(kMinWatchIntervalMs);
  std::shared_ptr<const SharedSnapshot>& cached = cache_[index];
  // Shared by every watch served in the same slot, but never sent twice to one watch (a
  // late hub can serve a 100 ms watch twice in one slot).
  if (cached != nullptr && cached->slot == slot && cached.get() != previous) return cached;
  auto shared = std::make_shared<SharedSnapshot>();
  shared->slot = slot;
  ReactorSnapshot snapshot = reactors_[index]->Snapshot();
  watch_snapshots_.fetch_add(1, std::memory_order_relaxed);
  std::sort(snapshot.connections.begin(), snapshot.connections.end(),
            [](const ConnectionStats& a, const ConnectionStats& b) {
              return a.connection_id < b.connection_id;
            });
  v1::ReactorStats totals;
  ToProto(snapshot.totals, &totals);
  AppendLengthDelimited(&shared->reactor, kReactorTag, totals.SerializeAsString());
  shared->ids.reserve(snapshot.connections.size());
  shared->offsets.reserve(snapshot.connections.size() + 1);
  v1::Connection connection;
  std::string wire;
  for (const ConnectionStats& c : snapshot.connections) {
    connection.Clear();
    ToProto(c, false, &connection);
    wire.clear();
    connection.SerializeToString(&wire);
    shared->ids.push_back(c.connection_id);
    shared->offsets.push_back(shared->connections.size());
    AppendLengthDelimited(&shared->connections, kConnectionTag, wire);
  }
  shared->offsets.push_back(shared->connections.size());
  cached = std::move(shared);
  return cached;
}

void RingAdminService::BuildMessage(Watch* w, Clock::time_point now) {
  std::vector<std::shared_ptr<const SharedSnapshot>> current;
  for (size_t r = 0; r < w->reactors.size(); ++r) {
    current.push_back(SnapshotFor(w->reactors[r], now, w->previous[r].get()));
  }
  w->head.clear();
  w->head.push_back(static_cast<char>(kSequenceTag));
  AppendVarint(&w->head, ++w->sequence);
  std::string closed;
  for (size_t r = 0; r < current.size(); ++r) {
    const SharedSnapshot& now_r = *current[r];
    w->head.append(now_r.reactor);
    // Both id lists ascend: one merge finds the new, changed and closed connections.
    const SharedSnapshot* before = w->previous[r].get();
    const size_t before_count = before != nullptr ? before->ids.size() : 0;
    size_t j = 0;
    for (size_t i = 0; i < now_r.ids.size(); ++i) {
      const uint64_t id = now_r.ids[i];
      while (j < before_count && before->ids[j] < id) AppendVarint(&closed, before->ids[j++]);
      const bool existed = j < before_count && before->ids[j] == id;
      if (w->changed_only && !(existed && before->connection(j) == now_r.connection(i))) {
        w->head.append(now_r.connection(i));
      }
      if (existed) ++j;
    }
    while (j < before_count) AppendVarint(&closed, before->ids[j++]);
  }
  if (!closed.empty()) AppendLengthDelimited(&w->head, kClosedIdsTag, closed);
  std::vector<grpc::Slice> slices;
  slices.emplace_back(w->head.data(), w->head.size());  // a copy: gRPC may outlive the write
  if (!w->changed_only) {
    // The connections go out as references to the shared bytes; each slice keeps its
    // snapshot alive until gRPC has sent it.
    for (const auto& snapshot : current) {
      if (snapshot->connections.empty()) continue;
      auto* owner = new std::shared_ptr<const SharedSnapshot>(snapshot);
      slices.emplace_back(
          const_cast<char*>(snapshot->connections.data()), snapshot->connections.size(),
          [](void* p) { delete static_cast<std::shared_ptr<const SharedSnapshot>*>(p); }, owner);
    }
  }
  w->message = grpc::ByteBuffer(slices.data(), slices.size());
  w->previous = std::move(current);
}

}  // namespace ringside::admin
