// The per-request cost of the HTTP/1.1 hot path under pipelining: parsing a batch of 16
// back-to-back requests exactly as wrk (tools/bench/pipeline.lua) and gcannon send them,
// "GET /pipeline HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", and appending the /pipeline
// response of each (200, text/plain, "ok", with Date) to one send buffer, as a reactor does
// for one read. Counters are per request, so the time reads as ns/request. The *Prebuilt
// variants build the response as services/http/http_app.cc does for a kept-alive GET of a
// fixed route (PrebuiltResponse); the others call AppendResponse for each.
//
//   ./bazelw run --config=opt //net:http_parser_benchmark -- --benchmark_repetitions=9
//       --benchmark_report_aggregates_only=true  (one command line)
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "ringside/net/date_cache.h"
#include "ringside/net/http_parser.h"
#include "ringside/net/http_response.h"

namespace ringside::net {
namespace {

constexpr int kDepth = 16;
constexpr Response kPipelineResponse = {.status = 200, .content_type = "text/plain", .body = "ok"};
constexpr std::string_view kRequest = "GET /pipeline HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";

std::string PipelinedBatch() {
  std::string batch;
  for (int i = 0; i < kDepth; ++i) batch.append(kRequest);
  return batch;
}

// Parses every request of `input` (whole requests only), calling on_head for each head.
// Returns the number of requests.
template <typename OnHead>
int ParseAll(HttpParser& parser, HttpRequest& request, std::string_view input, OnHead on_head) {
  int requests = 0;
  for (;;) {
    const ParseResult r = parser.Parse(input, &request);
    if (r.status == ParseStatus::kHead) on_head(request);
    if (r.status == ParseStatus::kComplete) ++requests;
    input.remove_prefix(r.consumed);
    if (r.status == ParseStatus::kNeedMore || r.status == ParseStatus::kError) return requests;
  }
}

void BM_ParsePipelined(benchmark::State& state) {
  const std::string batch = PipelinedBatch();
  HttpParser parser;
  HttpRequest request;
  for (auto _ : state) {
    const int n = ParseAll(parser, request, batch, [](const HttpRequest& r) {
      benchmark::DoNotOptimize(r.path.data());
    });
    if (n != kDepth) state.SkipWithError("a request did not parse");
  }
  state.counters["ns/request"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kDepth,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ParsePipelined);

// As HttpHandler parses: a head without a body is ended there (EndBodilessRequest) instead
// of by a second Parse returning kComplete.
void BM_ParsePipelinedEndingAtTheHead(benchmark::State& state) {
  const std::string batch = PipelinedBatch();
  HttpParser parser;
  HttpRequest request;
  for (auto _ : state) {
    std::string_view input = batch;
    int n = 0;
    for (;;) {
      const ParseResult r = parser.Parse(input, &request);
      if (r.status != ParseStatus::kHead) break;
      benchmark::DoNotOptimize(request.path.data());
      parser.EndBodilessRequest();
      input.remove_prefix(r.consumed);
      ++n;
    }
    if (n != kDepth) state.SkipWithError("a request did not parse");
  }
  state.counters["ns/request"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kDepth,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ParsePipelinedEndingAtTheHead);

void BM_AppendResponses(benchmark::State& state) {
  DateCache date;
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (int i = 0; i < kDepth; ++i) {
      AppendResponse(kPipelineResponse, date.Now(), &out);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["ns/request"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kDepth,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_AppendResponses);

void BM_ParseAndRespondPipelined(benchmark::State& state) {
  const std::string batch = PipelinedBatch();
  HttpParser parser;
  HttpRequest request;
  DateCache date;
  std::string out;
  for (auto _ : state) {
    out.clear();
    const int n = ParseAll(parser, request, batch, [&](const HttpRequest& r) {
      if (r.path == "/pipeline") {
        AppendResponse(kPipelineResponse, date.Now(), &out);
      }
    });
    if (n != kDepth) state.SkipWithError("a request did not parse");
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["ns/request"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kDepth,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ParseAndRespondPipelined);

void BM_AppendPrebuiltResponses(benchmark::State& state) {
  DateCache date;
  const PrebuiltResponse prebuilt(kPipelineResponse);
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (int i = 0; i < kDepth; ++i) prebuilt.AppendTo(date.Now(), &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["ns/request"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kDepth,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_AppendPrebuiltResponses);

void BM_ParseAndRespondPrebuiltPipelined(benchmark::State& state) {
  const std::string batch = PipelinedBatch();
  HttpParser parser;
  HttpRequest request;
  DateCache date;
  const PrebuiltResponse prebuilt(kPipelineResponse);
  std::string out;
  for (auto _ : state) {
    out.clear();
    const int n = ParseAll(parser, request, batch, [&](const HttpRequest& r) {
      if (r.path == "/pipeline") prebuilt.AppendTo(date.Now(), &out);
    });
    if (n != kDepth) state.SkipWithError("a request did not parse");
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["ns/request"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kDepth,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ParseAndRespondPrebuiltPipelined);

}  // namespace
}  // namespace ringside::net
