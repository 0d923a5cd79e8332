#include "services/admin/ring_admin_service.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

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
  out->set_refused_no_buffers(t.refused_no_buffers);
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
  out->set_output_pool_blocks(t.output_pool_blocks);
  out->set_output_block_size(t.output_block_size);
  out->set_output_pool_refusals(t.output_pool_refusals);
  out->set_send_timeouts(t.send_timeouts);
  out->set_releases_queued(t.buffers.releases_queued);
  out->set_body_timeouts(t.body_timeouts);
  out->set_timer_fires(t.timer_fires);
  out->set_connection_slots(t.connection_slots);
  out->set_connection_objects(t.connection_objects);
}

}  // namespace

RingAdminService::RingAdminService(std::vector<Reactor*> reactors,
                                   std::map<std::string, std::string> configuration)
    : reactors_(std::move(reactors)), configuration_(std::move(configuration)) {}

void RingAdminService::BeginShutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
  }
  shutdown_.notify_all();
}

grpc::Status RingAdminService::SelectReactors(bool has_reactor_id, uint32_t reactor_id,
                                              std::vector<Reactor*>* selected) const {
  if (!has_reactor_id) {
    *selected = reactors_;
    return grpc::Status::OK;
  }
  for (Reactor* reactor : reactors_) {
    if (reactor->id() == reactor_id) {
      selected->push_back(reactor);
      return grpc::Status::OK;
    }
  }
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      absl::StrCat("reactor_id ", reactor_id, " does not exist; this server has ",
                                   reactors_.size(), " reactor(s), ids 0..",
                                   reactors_.empty() ? 0 : reactors_.size() - 1));
}

grpc::Status RingAdminService::ListConnections(grpc::ServerContext*,
                                               const v1::ListConnectionsRequest* request,
                                               v1::ListConnectionsResponse* response) {
  const uint32_t max_results =
      request->max_results() == 0 ? kDefaultMaxResults : request->max_results();
  if (max_results > kMaxResults) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("max_results must be in 1..", kMaxResults, " (0 means ",
                                     kDefaultMaxResults, "), got ", request->max_results()));
  }
  std::vector<Reactor*> selected;
  if (grpc::Status s = SelectReactors(request->has_reactor_id(), request->reactor_id(), &selected);
      !s.ok()) {
    return s;
  }
  std::vector<ConnectionStats> page;
  for (Reactor* reactor : selected) {
    for (ConnectionStats& c : reactor->Snapshot().connections) {
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

grpc::Status RingAdminService::GetConnection(grpc::ServerContext*,
                                             const v1::GetConnectionRequest* request,
                                             v1::GetConnectionResponse* response) {
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

grpc::Status RingAdminService::GetServerStats(grpc::ServerContext*,
                                              const v1::GetServerStatsRequest*,
                                              v1::GetServerStatsResponse* response) {
  for (Reactor* reactor : reactors_) ToProto(reactor->Snapshot().totals, response->add_reactors());
  if (!reactors_.empty()) {
    // Every reactor runs the same configuration on the same kernel.
    const Reactor& first = *reactors_.front();
    response->set_effective_mode(first.incremental() ? "incremental" : "shared");
    for (const std::string& feature : first.features()) response->add_kernel_features(feature);
    response->set_fallback_reason(first.fallback_reason());
  }
  response->mutable_configuration()->insert(configuration_.begin(), configuration_.end());
  return grpc::Status::OK;
}

bool RingAdminService::SleepUnlessDone(grpc::ServerContext* context, uint32_t ms) {
  // gRPC's sync API has no wake-up on cancellation, so a cancelled call is noticed within
  // one slice; shutdown wakes the wait at once.
  constexpr auto kSlice = std::chrono::milliseconds(50);
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutting_down_ && !context->IsCancelled()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) return true;
    shutdown_.wait_until(lock, std::min(end, now + kSlice));
  }
  return false;
}

grpc::Status RingAdminService::WatchConnections(
    grpc::ServerContext* context, const v1::WatchConnectionsRequest* request,
    grpc::ServerWriter<v1::ConnectionsSnapshot>* writer) {
  if (request->interval_ms() < kMinWatchIntervalMs ||
      request->interval_ms() > kMaxWatchIntervalMs) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("interval_ms must be in ", kMinWatchIntervalMs, "..",
                                     kMaxWatchIntervalMs, ", got ", request->interval_ms()));
  }
  std::vector<Reactor*> selected;
  if (grpc::Status s = SelectReactors(request->has_reactor_id(), request->reactor_id(), &selected);
      !s.ok()) {
    return s;
  }
  // The connections of the previous snapshot, by id; with changed_only, each one's
  // serialized form then ("changed" means any field differs, so fields added to the proto
  // take part without being listed here). Serializing is skipped when nobody asked.
  absl::flat_hash_map<uint64_t, std::string> previous;
  uint64_t sequence = 0;
  do {
    v1::ConnectionsSnapshot snapshot;
    snapshot.set_sequence(++sequence);
    absl::flat_hash_map<uint64_t, std::string> current;
    for (Reactor* reactor : selected) {
      const ReactorSnapshot reactor_snapshot = reactor->Snapshot();
      ToProto(reactor_snapshot.totals, snapshot.add_reactors());
      for (const ConnectionStats& c : reactor_snapshot.connections) {
        if (!request->changed_only()) {
          ToProto(c, false, snapshot.add_connections());
          current.emplace(c.connection_id, std::string());
          continue;
        }
        v1::Connection connection;
        ToProto(c, false, &connection);
        std::string wire = connection.SerializeAsString();
        auto before = previous.find(c.connection_id);
        if (before == previous.end() || before->second != wire) {
          *snapshot.add_connections() = std::move(connection);
        }
        current.emplace(c.connection_id, std::move(wire));
      }
    }
    for (const auto& [id, wire] : previous) {
      if (!current.contains(id)) snapshot.add_closed_connection_ids(id);
    }
    std::sort(snapshot.mutable_closed_connection_ids()->begin(),
              snapshot.mutable_closed_connection_ids()->end());
    previous = std::move(current);
    if (!writer->Write(snapshot)) return grpc::Status::OK;  // the client went away
  } while (SleepUnlessDone(context, request->interval_ms()));
  if (context->IsCancelled()) return grpc::Status::CANCELLED;
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the admin server is shutting down");
}

}  // namespace ringside::admin
