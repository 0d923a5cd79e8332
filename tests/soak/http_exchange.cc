#include "ringside/tests/soak/http_exchange.h"

#include <cctype>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ringside::soak {
namespace {

// '#' a digit, '@' a letter, anything else itself.
constexpr std::string_view kDateShape = "@@@, ## @@@ #### ##:##:## GMT";
static_assert(kDateShape.size() == ExpectedResponse::kDateSize);

// Debian's absl::string_view is not std::string_view (BUILD_NOTES.md).
absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

bool FitsDateShape(size_t i, char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  switch (kDateShape[i]) {
    case '#': return std::isdigit(u) != 0;
    case '@': return std::isalpha(u) != 0;
    default: return c == kDateShape[i];
  }
}

// The response the app writes (net/http_response.h spells out the field order); written out
// here independently, so the soak checks the server against the contract, not against itself.
ExpectedResponse Ok(std::string_view content_type, std::string_view body, bool close) {
  ExpectedResponse r;
  r.bytes = "HTTP/1.1 200 OK\r\nServer: ringside\r\nDate: ";
  r.date_offset = r.bytes.size();
  r.bytes.append(ExpectedResponse::kDateSize, '?');
  absl::StrAppend(&r.bytes, "\r\nContent-Type: ", Absl(content_type),
                  "\r\nContent-Length: ", body.size(), close ? "\r\nConnection: close" : "",
                  "\r\n\r\n", Absl(body));
  return r;
}

uint64_t Uniform(std::mt19937_64& rng, uint64_t lo, uint64_t hi) {
  return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
}

int64_t SignedUniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

// Mostly small bodies, some of a few KiB, a few near the maximum: the sizes that cross
// buffer boundaries (16 KiB by default) are the interesting ones.
size_t RandomBodySize(std::mt19937_64& rng, size_t max) {
  const uint64_t pick = Uniform(rng, 0, 9);
  if (pick < 5) return Uniform(rng, 0, std::min<size_t>(max, 64));
  if (pick < 8) return Uniform(rng, 0, std::min<size_t>(max, 4096));
  return Uniform(rng, 0, max);
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Random chunk sizes, hex digits in either case, then the last chunk and no trailers.
std::string Chunked(std::mt19937_64& rng, std::string_view body) {
  std::string out;
  while (!body.empty()) {
    const size_t n = Uniform(rng, 1, body.size());
    out.append(Uniform(rng, 0, 1) ? absl::StrFormat("%x", n) : absl::StrFormat("%X", n));
    absl::StrAppend(&out, "\r\n", Absl(body.substr(0, n)), "\r\n");
    body.remove_prefix(n);
  }
  out.append("0\r\n\r\n");
  return out;
}

}  // namespace

Exchange RandomExchange(std::mt19937_64& rng, const ExchangeOptions& options) {
  const char* connection = options.close ? "Connection: close\r\n" : "";
  Exchange e;
  switch (Uniform(rng, 0, 5)) {
    case 0:
      e.request = absl::StrCat("GET /plaintext HTTP/1.1\r\nHost: soak\r\n", connection, "\r\n");
      e.response = Ok("text/plain", "Hello, World!", options.close);
      break;
    case 1:
      e.request = absl::StrCat("GET /json HTTP/1.1\r\nHost: soak\r\n", connection, "\r\n");
      e.response = Ok("application/json", R"({"message":"Hello, World!"})", options.close);
      break;
    case 2:
      e.request = absl::StrCat("GET /pipeline HTTP/1.1\r\nHost: soak\r\n", connection, "\r\n");
      e.response = Ok("text/plain", "ok", options.close);
      break;
    case 3: {
      const int64_t a = SignedUniform(rng, -1000000000, 1000000000);
      const int64_t b = SignedUniform(rng, -1000000000, 1000000000);
      e.request = absl::StrCat("GET /baseline11?a=", a, "&b=", b,
                               " HTTP/1.1\r\nHost: soak\r\n", connection, "\r\n");
      e.response = Ok("text/plain", absl::StrCat(a + b), options.close);
      break;
    }
    case 4: {
      const int64_t a = SignedUniform(rng, -1000000, 1000000);
      const int64_t b = SignedUniform(rng, -1000000, 1000000);
      const int64_t c = SignedUniform(rng, -1000000, 1000000);
      const std::string body = absl::StrCat(c);
      e.request = absl::StrCat("POST /baseline11?a=", a, "&b=", b,
                               " HTTP/1.1\r\nHost: soak\r\nContent-Length: ", body.size(),
                               "\r\n", connection, "\r\n", body);
      e.response = Ok("text/plain", absl::StrCat(a + b + c), options.close);
      break;
    }
    default: {
      const std::string body = RandomBytes(rng, RandomBodySize(rng, options.max_body));
      if (Uniform(rng, 0, 1)) {
        e.request = absl::StrCat("POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: ",
                                 body.size(), "\r\n", connection, "\r\n", body);
      } else {
        e.request = absl::StrCat("POST /echo HTTP/1.1\r\nHost: soak\r\n",
                                 "Transfer-Encoding: chunked\r\n", connection, "\r\n",
                                 Chunked(rng, body));
      }
      e.response = Ok("application/octet-stream", body, options.close);
      break;
    }
  }
  return e;
}

void ResponseChecker::Expect(ExpectedResponse response) {
  expected_.push_back(std::move(response));
}

bool ResponseChecker::Consume(std::string_view data) {
  if (!error_.empty()) return false;
  while (!data.empty()) {
    if (expected_.empty()) {
      error_ = absl::StrCat(data.size(), " byte(s) after the last expected response: \"",
                            absl::CHexEscape(Absl(data.substr(0, 64))), "\"");
      return false;
    }
    const ExpectedResponse& want = expected_.front();
    const size_t n = std::min(data.size(), want.bytes.size() - offset_);
    for (size_t i = 0; i < n; ++i) {
      const size_t at = offset_ + i;
      const bool in_date = at >= want.date_offset && at < want.date_offset + want.kDateSize;
      const bool ok = in_date ? FitsDateShape(at - want.date_offset, data[i])
                              : data[i] == want.bytes[at];
      if (!ok) {
        const size_t from = at < 32 ? 0 : at - 32;
        error_ = absl::StrCat(
            "response ", responses_checked_ + 1, " differs at byte ", at, " of ",
            want.bytes.size(), ": expected \"",
            absl::CHexEscape(want.bytes.substr(from, 64)), "\" got \"",
            absl::CHexEscape(absl::StrCat(want.bytes.substr(from, at - from),
                                          Absl(data.substr(i, 64 - (at - from))))),
            "\"");
        return false;
      }
    }
    offset_ += n;
    bytes_checked_ += n;
    data.remove_prefix(n);
    if (offset_ == want.bytes.size()) {
      expected_.pop_front();
      offset_ = 0;
      ++responses_checked_;
    }
  }
  return true;
}

bool HoldsWholeResponse(std::string_view received) {
  const size_t head_end = received.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return false;
  const size_t field = received.find("Content-Length: ");
  if (field == std::string_view::npos || field > head_end) return false;
  const size_t value = field + 16;
  uint64_t length = 0;
  if (!absl::SimpleAtoi(std::string(received.substr(value, received.find("\r\n", value) - value)),
                        &length)) {
    return false;
  }
  return received.size() >= head_end + 4 + length;
}

}  // namespace ringside::soak
