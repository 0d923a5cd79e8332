#include "ringside/services/metrics/metrics_handler.h"

#include <memory>
#include <string>
#include <utility>

#include "ringside/net/http_response.h"

namespace ringside::metrics {
namespace {

// The exposition format's media type (Prometheus text format 0.0.4).
constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

void AppendAnswer(ConnectionIo& io, const net::Response& response, net::DateCache* date) {
  std::string bytes;
  net::AppendResponse(response, date->Now(), &bytes);
  io.output().AppendShared(std::make_shared<const std::string>(std::move(bytes)));
  if (response.connection == net::ConnectionField::kClose) io.CloseAfterFlush();
}

}  // namespace

net::HttpLimits MetricsHandler::Limits() {
  return {.max_request_line = 1024,
          .max_header_bytes = 8192,
          .max_headers = 64,
          .max_body = 0,
          .max_chunk_overhead = 0};
}

MetricsHandler::MetricsHandler(MetricsSource* source, net::DateCache* date)
    : source_(source), date_(date), parser_(Limits()) {}

void MetricsHandler::OnInput(ConnectionIo& io) {
  for (;;) {
    const net::ParseResult r = parser_.Parse(io.input().pending(), &request_);
    switch (r.status) {
      case net::ParseStatus::kNeedMore:
        io.input().Consume(r.consumed);
        return;
      case net::ParseStatus::kError: {
        std::string bytes;
        net::AppendErrorResponse(r.error_status, date_->Now(), &bytes);
        io.output().AppendShared(std::make_shared<const std::string>(std::move(bytes)));
        io.CountRejectedRequest();
        io.input().Consume(io.input().size());
        io.CloseAfterFlush();
        return;
      }
      case net::ParseStatus::kHead:
        // The head's views die with the Consume below: keep what the answer needs.
        head_only_ = request_.method == "HEAD";
        keep_alive_ = request_.keep_alive;
        route_ = request_.path != "/metrics"                              ? Route::kNotFound
                 : request_.method == "GET" || request_.method == "HEAD" ? Route::kMetrics
                                                                          : Route::kMethodNotAllowed;
        io.input().Consume(r.consumed);
        break;
      case net::ParseStatus::kBody:  // none: max_body is 0, a body is refused (413)
        io.input().Consume(r.consumed);
        break;
      case net::ParseStatus::kComplete:
        io.input().Consume(r.consumed);
        io.CountRequest();
        if (!Answer(io)) return;
        break;
    }
  }
}

bool MetricsHandler::Answer(ConnectionIo& io) {
  const net::ConnectionField connection =
      keep_alive_ ? net::ConnectionField::kNone : net::ConnectionField::kClose;
  switch (route_) {
    case Route::kNotFound:
      AppendAnswer(io,
                   {.status = 404, .content_type = "text/plain",
                    .body = "not found: the metrics are at /metrics\n",
                    .connection = connection, .omit_body = head_only_},
                   date_);
      return true;
    case Route::kMethodNotAllowed:
      AppendAnswer(io,
                   {.status = 405, .content_type = "text/plain",
                    .body = "method not allowed\n", .connection = connection,
                    .allow = "GET, HEAD"},
                   date_);
      return true;
    case Route::kMetrics:
      break;
  }
  io.PauseInput();
  source_->Scrape(io.handle(), [date = date_, head_only = head_only_, connection](
                                   ConnectionIo& io, const std::string& text) {
    AppendAnswer(io,
                 {.status = 200, .content_type = kContentType, .body = text,
                  .connection = connection, .omit_body = head_only},
                 date);
    io.ResumeInput();
  });
  return false;
}

}  // namespace ringside::metrics
