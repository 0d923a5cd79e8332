#include "ringside/services/http/conformance_cases.h"

#include <string>

namespace ringside::http {
namespace {

using namespace std::string_literals;  // "..."s keeps embedded NUL bytes

constexpr bool kClose = true;
constexpr bool kKeepOpen = false;

// Where the RFCs leave a choice, the table takes the one that leaves no two parsers room to
// frame the same bytes differently (request smuggling), and says so next to the case:
//   - bare LF and bare CR are never line ends: 400 (RFC 9112 2.2 allows accepting bare LF);
//   - obs-fold and whitespace before the first field line: 400 (RFC 9112 5.2, 2.2);
//   - Content-Length with Transfer-Encoding: 400 (RFC 9112 6.1 allows processing the
//     chunked body and closing afterwards);
//   - repeated Content-Length, even with equal values or as a list "5, 5": 400 (RFC 9112 6.3
//     allows collapsing equal values);
//   - NUL and other controls in a field value: 400 (RFC 9110 5.5 allows replacing with SP);
//   - request-line fields separated by anything but one SP: 400 (RFC 9112 3 allows
//     lenient whitespace);
//   - chunk-size followed by whitespace without a chunk extension: 400 (the grammar has BWS
//     only before ";");
//   - trailer fields are checked and dropped, never merged into the header section, so a
//     Content-Length trailer cannot reframe anything (RFC 9110 6.5.1).
// A method the server does not know gets 501 and a known one a resource does not allow 405
// (RFC 9110 9.1, 15.5.6); both keep the connection, as the request was well framed.

constexpr char kHost[] = "Host: t\r\n";

std::string Repeat(char c, size_t n) { return std::string(n, c); }

// A GET of /pipeline whose header section is exactly `header_bytes` long (field lines and
// the final CRLF), with one large field: the boundary of --max_header_bytes.
std::string HeaderBlockOfSize(size_t header_bytes) {
  const size_t fixed = sizeof(kHost) - 1 + std::string_view("X: \r\n\r\n").size();
  return "GET /pipeline HTTP/1.1\r\n"s + kHost + "X: " + Repeat('v', header_bytes - fixed) +
         "\r\n\r\n";
}

// A GET of /pipeline with Host and `extra` more fields.
std::string ManyFields(int extra, size_t value_size) {
  std::string raw = "GET /pipeline HTTP/1.1\r\n"s + kHost;
  for (int i = 0; i < extra; ++i) {
    raw += "X-" + std::to_string(i) + ": " + Repeat('v', value_size) + "\r\n";
  }
  return raw + "\r\n";
}

// A request line of exactly `size` bytes (CRLF excluded): the boundary of --max_request_line.
std::string RequestLineOfSize(size_t size) {
  const size_t fixed = std::string_view("GET / HTTP/1.1").size();
  return "GET /" + Repeat('a', size - fixed) + " HTTP/1.1\r\n" + kHost + "\r\n";
}

std::vector<ConformanceCase> MakeCases() {
  const std::string post_echo = "POST /echo HTTP/1.1\r\nHost: t\r\n";
  const std::string chunked = post_echo + "Transfer-Encoding: chunked\r\n\r\n";
  const std::string hello_chunked = "5\r\nhello\r\n0\r\n\r\n";
  const std::string get_pipeline = "GET /pipeline HTTP/1.1\r\nHost: t\r\n\r\n";
  const std::string get_prefix = "GET /pipeline HTTP/1.1\r\nHost: t\r\n";
  const std::string get_no_host = "GET /pipeline HTTP/1.1\r\n";
  const std::string big_field(17000, 'v');
  return {
      // --- baseline: well-formed requests, the reference the other cases deviate from.
      {"get_plaintext", "baseline", "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n", {200},
       kKeepOpen, "Hello, World!"},
      {"post_echo_content_length", "baseline", post_echo + "Content-Length: 5\r\n\r\nhello",
       {200}, kKeepOpen, "hello"},
      {"post_echo_chunked", "baseline", chunked + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
       {200}, kKeepOpen, "hello world"},
      {"get_baseline11_query", "baseline", "GET /baseline11?a=1&b=2 HTTP/1.1\r\nHost: t\r\n\r\n",
       {200}, kKeepOpen, "3"},
      {"unknown_path_404", "baseline", "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n", {404},
       kKeepOpen},
      {"known_method_not_allowed_405", "baseline", "DELETE /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
       {405}, kKeepOpen},
      // Methods are case-sensitive (RFC 9110 9.1): "get" is an unknown method.
      {"lowercase_method_is_unknown_501", "baseline", "get /pipeline HTTP/1.1\r\nHost: t\r\n\r\n",
       {501}, kKeepOpen},
      {"unknown_method_501", "baseline", "BREW /pipeline HTTP/1.1\r\nHost: t\r\n\r\n", {501},
       kKeepOpen},
      // RFC 9112 2.2: at least one empty line before the request line is ignored.
      {"one_leading_empty_line", "baseline", "\r\n" + get_pipeline, {200}, kKeepOpen, "ok"},
      {"five_leading_empty_lines", "baseline", "\r\n\r\n\r\n\r\n\r\n" + get_pipeline, {400},
       kClose},
      {"crlf_after_body_is_ignored", "baseline", post_echo + "Content-Length: 5\r\n\r\nhello\r\n",
       {200}, kKeepOpen, "hello"},
      {"get_with_content_length_body", "baseline", get_prefix + "Content-Length: 5\r\n\r\nhello",
       {200}, kKeepOpen, "ok"},

      // --- content_length (RFC 9112 6.2, 6.3; RFC 9110 8.6)
      {"cl_zero", "content_length", post_echo + "Content-Length: 0\r\n\r\n", {200}, kKeepOpen,
       ""},
      {"cl_leading_zeros", "content_length", post_echo + "Content-Length: 005\r\n\r\nhello",
       {200}, kKeepOpen, "hello"},
      {"cl_surrounding_ows", "content_length", post_echo + "Content-Length: \t5 \t\r\n\r\nhello",
       {200}, kKeepOpen, "hello"},
      {"cl_uppercase_name", "content_length", post_echo + "CONTENT-LENGTH: 5\r\n\r\nhello",
       {200}, kKeepOpen, "hello"},
      {"cl_duplicate_equal", "content_length",
       post_echo + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", {400}, kClose},
      {"cl_duplicate_different", "content_length",
       post_echo + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", {400}, kClose},
      {"cl_list_equal", "content_length", post_echo + "Content-Length: 5, 5\r\n\r\nhello", {400},
       kClose},
      {"cl_list_different", "content_length", post_echo + "Content-Length: 5, 6\r\n\r\nhello!",
       {400}, kClose},
      {"cl_empty", "content_length", post_echo + "Content-Length:\r\n\r\n", {400}, kClose},
      {"cl_negative", "content_length", post_echo + "Content-Length: -5\r\n\r\nhello", {400},
       kClose},
      {"cl_plus_sign", "content_length", post_echo + "Content-Length: +5\r\n\r\nhello", {400},
       kClose},
      {"cl_hex", "content_length", post_echo + "Content-Length: 0x5\r\n\r\nhello", {400},
       kClose},
      {"cl_fraction", "content_length", post_echo + "Content-Length: 5.0\r\n\r\nhello", {400},
       kClose},
      {"cl_inner_space", "content_length", post_echo + "Content-Length: 1 0\r\n\r\nhellohello",
       {400}, kClose},
      {"cl_trailing_letter", "content_length", post_echo + "Content-Length: 5a\r\n\r\nhello",
       {400}, kClose},
      // 2^64 + 5: a parser that wraps would read 5 and take the rest as the next request.
      {"cl_overflow_wraps_64_bits", "content_length",
       post_echo + "Content-Length: 18446744073709551621\r\n\r\nhello", {400}, kClose},
      {"cl_overflow_many_digits", "content_length",
       post_echo + "Content-Length: 999999999999999999999999999999\r\n\r\nhello", {400},
       kClose},
      {"cl_int64_max_over_max_body", "content_length",
       post_echo + "Content-Length: 9223372036854775807\r\n\r\nhello", {413}, kClose},
      {"cl_one_over_max_body", "content_length",
       post_echo + "Content-Length: 8388609\r\n\r\nhello", {413}, kClose},
      {"cl_body_incomplete", "content_length", post_echo + "Content-Length: 10\r\n\r\nhello",
       {}, kClose},
      {"cl_body_then_next_request", "content_length",
       post_echo + "Content-Length: 5\r\n\r\nhello" + get_pipeline, {200, 200}, kKeepOpen,
       "hello"},

      // --- transfer_encoding (RFC 9112 6.1, 6.3, 7)
      {"te_chunked_uppercase", "transfer_encoding",
       post_echo + "Transfer-Encoding: CHUNKED\r\n\r\n" + hello_chunked, {200}, kKeepOpen,
       "hello"},
      {"te_surrounding_ows", "transfer_encoding",
       post_echo + "Transfer-Encoding: \t chunked \t\r\n\r\n" + hello_chunked, {200}, kKeepOpen,
       "hello"},
      // RFC 9110 5.6.1: empty list elements are accepted and not counted.
      {"te_empty_list_element", "transfer_encoding",
       post_echo + "Transfer-Encoding: , chunked\r\n\r\n" + hello_chunked, {200}, kKeepOpen,
       "hello"},
      {"te_with_cl", "transfer_encoding",
       post_echo + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + hello_chunked,
       {400}, kClose},
      {"cl_with_te", "transfer_encoding",
       post_echo + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + hello_chunked,
       {400}, kClose},
      {"te_with_cl_zero", "transfer_encoding",
       post_echo + "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n" + hello_chunked,
       {400}, kClose},
      // RFC 9112 6.3: chunked not final in a request is 400 and close.
      {"te_identity", "transfer_encoding", post_echo + "Transfer-Encoding: identity\r\n\r\n",
       {400}, kClose},
      {"te_chunked_then_gzip", "transfer_encoding",
       post_echo + "Transfer-Encoding: chunked, gzip\r\n\r\n" + hello_chunked, {400}, kClose},
      {"te_unknown_coding_then_chunked_501", "transfer_encoding",
       post_echo + "Transfer-Encoding: gzip, chunked\r\n\r\n" + hello_chunked, {501}, kClose},
      {"te_fields_combine_to_gzip_chunked_501", "transfer_encoding",
       post_echo + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" +
           hello_chunked,
       {501}, kClose},
      // RFC 9112 6.1: chunked MUST NOT be applied more than once.
      {"te_chunked_twice", "transfer_encoding",
       post_echo + "Transfer-Encoding: chunked, chunked\r\n\r\n" + hello_chunked, {400},
       kClose},
      {"te_chunked_in_two_fields", "transfer_encoding",
       post_echo + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" +
           hello_chunked,
       {400}, kClose},
      {"te_chunked_then_unknown_field", "transfer_encoding",
       post_echo + "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n" + hello_chunked,
       {400}, kClose},
      {"te_chunked_with_parameter", "transfer_encoding",
       post_echo + "Transfer-Encoding: chunked;q=1\r\n\r\n" + hello_chunked, {400}, kClose},
      {"te_empty", "transfer_encoding", post_echo + "Transfer-Encoding:\r\n\r\n", {400}, kClose},
      {"te_quoted", "transfer_encoding",
       post_echo + "Transfer-Encoding: \"chunked\"\r\n\r\n" + hello_chunked, {400}, kClose},
      {"te_xchunked", "transfer_encoding",
       post_echo + "Transfer-Encoding: xchunked\r\n\r\n" + hello_chunked, {400}, kClose},
      {"te_vertical_tab_before_value", "transfer_encoding",
       post_echo + "Transfer-Encoding:\x0b" "chunked\r\n\r\n" + hello_chunked, {400}, kClose},
      // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
      {"te_in_http10", "transfer_encoding",
       "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + hello_chunked, {400},
       kClose},
      {"te_in_http10_with_cl", "transfer_encoding",
       "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello",
       {400}, kClose},
      // A different field name: Content-Length frames the body.
      {"te_underscore_is_another_field", "transfer_encoding",
       post_echo + "Transfer_Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello", {200},
       kKeepOpen, "hello"},
      {"get_with_chunked_body", "transfer_encoding",
       get_prefix + "Transfer-Encoding: chunked\r\n\r\n" + hello_chunked, {200}, kKeepOpen,
       "ok"},

      // --- chunked (RFC 9112 7.1)
      {"chunk_ext_token", "chunked", chunked + "5;ext=v\r\nhello\r\n0\r\n\r\n", {200},
       kKeepOpen, "hello"},
      {"chunk_ext_quoted", "chunked", chunked + "5;ext=\"a b;c\\\"\"\r\nhello\r\n0\r\n\r\n",
       {200}, kKeepOpen, "hello"},
      {"chunk_ext_name_only", "chunked", chunked + "5;ext\r\nhello\r\n0\r\n\r\n", {200},
       kKeepOpen, "hello"},
      {"chunk_ext_bws", "chunked", chunked + "5 ; ext = v\r\nhello\r\n0\r\n\r\n", {200},
       kKeepOpen, "hello"},
      {"chunk_ext_several", "chunked", chunked + "5;a=1;b;c=\"x\"\r\nhello\r\n0\r\n\r\n", {200},
       kKeepOpen, "hello"},
      {"chunk_ext_on_last_chunk", "chunked", chunked + "5\r\nhello\r\n0;ext=v\r\n\r\n", {200},
       kKeepOpen, "hello"},
      {"chunk_ext_missing_name", "chunked", chunked + "5;\r\nhello\r\n0\r\n\r\n", {400},
       kClose},
      {"chunk_ext_missing_semicolon", "chunked", chunked + "5 ext\r\nhello\r\n0\r\n\r\n", {400},
       kClose},
      {"chunk_ext_unterminated_quote", "chunked", chunked + "5;a=\"x\r\nhello\r\n0\r\n\r\n",
       {400}, kClose},
      {"chunk_ext_missing_value", "chunked", chunked + "5;a=\r\nhello\r\n0\r\n\r\n", {400},
       kClose},
      {"chunk_line_over_1024_bytes", "chunked",
       chunked + "5;a=" + Repeat('x', 1100) + "\r\nhello\r\n0\r\n\r\n", {400}, kClose},
      {"chunk_size_uppercase_hex", "chunked", chunked + "A\r\n0123456789\r\n0\r\n\r\n", {200},
       kKeepOpen, "0123456789"},
      {"chunk_size_lowercase_hex", "chunked", chunked + "a\r\n0123456789\r\n0\r\n\r\n", {200},
       kKeepOpen, "0123456789"},
      {"chunk_size_leading_zeros", "chunked", chunked + "00005\r\nhello\r\n0000\r\n\r\n", {200},
       kKeepOpen, "hello"},
      {"chunk_size_0x_prefix", "chunked", chunked + "0x5\r\nhello\r\n0\r\n\r\n", {400}, kClose},
      {"chunk_size_negative", "chunked", chunked + "-5\r\nhello\r\n0\r\n\r\n", {400}, kClose},
      {"chunk_size_plus_sign", "chunked", chunked + "+5\r\nhello\r\n0\r\n\r\n", {400}, kClose},
      {"chunk_size_leading_space", "chunked", chunked + " 5\r\nhello\r\n0\r\n\r\n", {400},
       kClose},
      {"chunk_size_trailing_space", "chunked", chunked + "5 \r\nhello\r\n0\r\n\r\n", {400},
       kClose},
      {"chunk_size_empty", "chunked", chunked + "\r\nhello\r\n0\r\n\r\n", {400}, kClose},
      {"chunk_size_not_hex", "chunked", chunked + "g\r\nhello\r\n0\r\n\r\n", {400}, kClose},
      // 17 hex digits: a parser that wraps at 64 bits would read 5.
      {"chunk_size_17_digits_overflow", "chunked",
       chunked + "10000000000000005\r\nhello\r\n0\r\n\r\n", {400}, kClose},
      {"chunk_size_16_digits_over_max_body", "chunked",
       chunked + "ffffffffffffffff\r\nhello\r\n0\r\n\r\n", {413}, kClose},
      {"chunk_size_one_over_max_body", "chunked", chunked + "800001\r\nhello\r\n0\r\n\r\n",
       {413}, kClose},
      {"chunk_data_longer_than_size", "chunked", chunked + "3\r\nhello\r\n0\r\n\r\n", {400},
       kClose},
      {"chunk_data_shorter_than_size", "chunked", chunked + "5\r\nhi\r\n0\r\n\r\n", {400},
       kClose},
      {"chunk_data_without_crlf", "chunked", chunked + "5\r\nhello0\r\n\r\n", {400}, kClose},
      {"chunk_data_nul_bytes", "chunked", chunked + "5\r\nhe\0lo\r\n0\r\n\r\n"s, {200},
       kKeepOpen, "he\0lo"s},
      {"chunked_empty_body", "chunked", chunked + "0\r\n\r\n", {200}, kKeepOpen, ""},
      {"chunked_one_byte_chunks", "chunked",
       chunked + "1\r\nh\r\n1\r\ne\r\n1\r\nl\r\n1\r\nl\r\n1\r\no\r\n0\r\n\r\n", {200}, kKeepOpen,
       "hello"},
      {"chunked_then_next_request", "chunked", chunked + hello_chunked + get_pipeline,
       {200, 200}, kKeepOpen, "hello"},
      {"missing_last_chunk", "chunked", chunked + "5\r\nhello\r\n", {}, kClose},
      {"last_chunk_without_final_crlf", "chunked", chunked + "5\r\nhello\r\n0\r\n", {}, kClose},
      // The next request is read as a chunk-size line.
      {"missing_last_chunk_then_request", "chunked", chunked + "5\r\nhello\r\n" + get_pipeline,
       {400}, kClose},
      {"trailer_field", "chunked", chunked + "5\r\nhello\r\n0\r\nX-Trailer: v\r\n\r\n", {200},
       kKeepOpen, "hello"},
      {"trailer_fields", "chunked", chunked + "5\r\nhello\r\n0\r\nA: 1\r\nB: 2\r\n\r\n", {200},
       kKeepOpen, "hello"},
      {"trailer_content_length_ignored", "chunked",
       chunked + "5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n", {200}, kKeepOpen, "hello"},
      {"trailer_without_colon", "chunked", chunked + "5\r\nhello\r\n0\r\nX-Trailer v\r\n\r\n",
       {400}, kClose},
      {"trailer_space_before_colon", "chunked",
       chunked + "5\r\nhello\r\n0\r\nX-Trailer : v\r\n\r\n", {400}, kClose},
      {"trailer_obs_fold", "chunked", chunked + "5\r\nhello\r\n0\r\nX: a\r\n b\r\n\r\n", {400},
       kClose},
      {"trailer_over_max_header_bytes", "chunked",
       chunked + "5\r\nhello\r\n0\r\nX: " + big_field + "\r\n\r\n", {431}, kClose},

      // --- line_endings (RFC 9112 2.2): only CRLF ends a line.
      {"bare_lf_after_request_line", "line_endings",
       "GET /pipeline HTTP/1.1\nHost: t\r\n\r\n", {400}, kClose},
      {"bare_lf_after_field_line", "line_endings", "GET /pipeline HTTP/1.1\r\nHost: t\n\r\n",
       {400}, kClose},
      {"bare_lf_ends_head", "line_endings", get_prefix + "\n", {400}, kClose},
      {"bare_lf_everywhere", "line_endings", "GET /pipeline HTTP/1.1\nHost: t\n\n", {400},
       kClose},
      {"bare_lf_leading_empty_line", "line_endings", "\n" + get_pipeline, {400}, kClose},
      {"bare_lf_after_chunk_size", "line_endings", chunked + "5\nhello\r\n0\r\n\r\n", {400},
       kClose},
      {"bare_lf_after_chunk_data", "line_endings", chunked + "5\r\nhello\n0\r\n\r\n", {400},
       kClose},
      {"bare_cr_after_request_line", "line_endings", "GET /pipeline HTTP/1.1\rHost: t\r\n\r\n",
       {400}, kClose},
      {"bare_cr_in_field_value", "line_endings", get_prefix + "X: a\rb\r\n\r\n", {400},
       kClose},
      {"cr_cr_lf", "line_endings", "GET /pipeline HTTP/1.1\r\nHost: t\r\r\n\r\n", {400},
       kClose},
      {"lf_cr_reversed", "line_endings", "GET /pipeline HTTP/1.1\n\rHost: t\r\n\r\n", {400},
       kClose},

      // --- field_syntax (RFC 9112 5, RFC 9110 5.1, 5.5, 5.6.2)
      {"space_before_colon", "field_syntax", get_no_host + "Host : t\r\n\r\n", {400}, kClose},
      {"tab_before_colon", "field_syntax", get_no_host + "Host\t: t\r\n\r\n", {400}, kClose},
      {"space_before_colon_content_length", "field_syntax",
       post_echo + "Content-Length : 5\r\n\r\nhello", {400}, kClose},
      {"space_before_colon_transfer_encoding", "field_syntax",
       post_echo + "Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n" + hello_chunked,
       {400}, kClose},
      {"whitespace_before_first_field", "field_syntax", get_no_host + " Host: t\r\n\r\n", {400},
       kClose},
      {"obs_fold_space", "field_syntax", get_prefix + "X: a\r\n b\r\n\r\n", {400}, kClose},
      {"obs_fold_tab", "field_syntax", get_prefix + "X: a\r\n\tb\r\n\r\n", {400}, kClose},
      {"obs_fold_transfer_encoding", "field_syntax",
       post_echo + "Transfer-Encoding: x\r\n chunked\r\n\r\n" + hello_chunked, {400}, kClose},
      {"empty_field_name", "field_syntax", get_prefix + ": v\r\n\r\n", {400}, kClose},
      {"field_without_colon", "field_syntax", get_prefix + "X-Foo bar\r\n\r\n", {400}, kClose},
      {"space_in_field_name", "field_syntax", get_prefix + "X Foo: bar\r\n\r\n", {400}, kClose},
      {"at_sign_in_field_name", "field_syntax", get_prefix + "X@Foo: bar\r\n\r\n", {400},
       kClose},
      {"brackets_in_field_name", "field_syntax", get_prefix + "X[1]: v\r\n\r\n", {400}, kClose},
      {"non_ascii_field_name", "field_syntax", get_prefix + "X\xc3\xa9: v\r\n\r\n", {400},
       kClose},
      {"every_tchar_in_field_name", "field_syntax",
       get_prefix + "!#$%&'*+-.^_`|~09AZaz: v\r\n\r\n", {200}, kKeepOpen, "ok"},
      {"obs_text_in_field_value", "field_syntax", get_prefix + "X: caf\xc3\xa9\r\n\r\n", {200},
       kKeepOpen, "ok"},
      {"empty_field_value", "field_syntax", get_prefix + "X-Empty:\r\n\r\n", {200}, kKeepOpen,
       "ok"},
      {"tab_inside_field_value", "field_syntax", get_prefix + "X: a\tb\r\n\r\n", {200},
       kKeepOpen, "ok"},
      {"colons_in_field_value", "field_syntax", get_prefix + "X: a:b:c\r\n\r\n", {200},
       kKeepOpen, "ok"},

      // --- control_bytes (RFC 9110 5.5: NUL, CR, LF and other controls are invalid)
      {"nul_in_method", "control_bytes", "G\0ET /pipeline HTTP/1.1\r\nHost: t\r\n\r\n"s, {400},
       kClose},
      {"nul_in_target", "control_bytes", "GET /pipe\0line HTTP/1.1\r\nHost: t\r\n\r\n"s, {400},
       kClose},
      {"nul_in_version", "control_bytes", "GET /pipeline HTTP/1.\0\r\nHost: t\r\n\r\n"s, {400},
       kClose},
      {"nul_before_request_line", "control_bytes", "\0"s + get_pipeline, {400}, kClose},
      {"nul_in_field_name", "control_bytes", get_prefix + "X\0Y: v\r\n\r\n"s, {400}, kClose},
      {"nul_in_field_value", "control_bytes", get_prefix + "X: a\0b\r\n\r\n"s, {400}, kClose},
      {"nul_in_host", "control_bytes", get_no_host + "Host: t\0.evil\r\n\r\n"s, {400}, kClose},
      {"soh_in_field_value", "control_bytes", get_prefix + "X: a\x01" "b\r\n\r\n", {400},
       kClose},
      {"esc_in_field_value", "control_bytes", get_prefix + "X: a\x1b" "b\r\n\r\n", {400},
       kClose},
      {"del_in_field_value", "control_bytes", get_prefix + "X: a\x7f" "b\r\n\r\n", {400},
       kClose},
      {"vertical_tab_in_field_value", "control_bytes", get_prefix + "X: a\x0b" "b\r\n\r\n",
       {400}, kClose},
      {"form_feed_in_field_value", "control_bytes", get_prefix + "X: a\x0c" "b\r\n\r\n", {400},
       kClose},
      {"del_in_target", "control_bytes", "GET /pipe\x7fline HTTP/1.1\r\nHost: t\r\n\r\n", {400},
       kClose},
      {"soh_in_target", "control_bytes", "GET /pipe\x01line HTTP/1.1\r\nHost: t\r\n\r\n", {400},
       kClose},
      {"nul_in_chunk_extension", "control_bytes", chunked + "5;a\0b\r\nhello\r\n0\r\n\r\n"s,
       {400}, kClose},
      {"nul_in_trailer", "control_bytes", chunked + "5\r\nhello\r\n0\r\nX: a\0b\r\n\r\n"s,
       {400}, kClose},

      // --- request_line (RFC 9112 3, 2.3; RFC 9110 2.5)
      {"double_space_after_method", "request_line",
       "GET  /pipeline HTTP/1.1\r\nHost: t\r\n\r\n", {400}, kClose},
      {"double_space_before_version", "request_line",
       "GET /pipeline  HTTP/1.1\r\nHost: t\r\n\r\n", {400}, kClose},
      {"tab_as_separator", "request_line", "GET\t/pipeline HTTP/1.1\r\nHost: t\r\n\r\n", {400},
       kClose},
      {"space_after_version", "request_line", "GET /pipeline HTTP/1.1 \r\nHost: t\r\n\r\n",
       {400}, kClose},
      {"space_before_method", "request_line", " GET /pipeline HTTP/1.1\r\nHost: t\r\n\r\n",
       {400}, kClose},
      {"missing_version_http09", "request_line", "GET /pipeline\r\n\r\n", {400}, kClose},
      {"lowercase_http_name", "request_line", "GET /pipeline http/1.1\r\nHost: t\r\n\r\n",
       {400}, kClose},
      {"two_digit_minor_version", "request_line", "GET /pipeline HTTP/1.10\r\nHost: t\r\n\r\n",
       {400}, kClose},
      {"version_trailing_garbage", "request_line", "GET /pipeline HTTP/1.1x\r\nHost: t\r\n\r\n",
       {400}, kClose},
      {"method_not_a_token", "request_line", "GE(T /pipeline HTTP/1.1\r\nHost: t\r\n\r\n",
       {400}, kClose},
      {"version_2_0_505", "request_line", "GET /pipeline HTTP/2.0\r\nHost: t\r\n\r\n", {505},
       kClose},
      {"version_3_0_505", "request_line", "GET /pipeline HTTP/3.0\r\nHost: t\r\n\r\n", {505},
       kClose},
      {"version_0_9_505", "request_line", "GET /pipeline HTTP/0.9\r\nHost: t\r\n\r\n", {505},
       kClose},
      // RFC 9110 2.5: a higher minor version of a major version we implement is processed
      // as the highest minor version we implement.
      {"version_1_2_as_1_1", "request_line", "GET /pipeline HTTP/1.2\r\nHost: t\r\n\r\n", {200},
       kKeepOpen, "ok"},
      {"version_1_2_needs_host", "request_line", "GET /pipeline HTTP/1.2\r\n\r\n", {400},
       kClose},
      {"fragment_in_target", "request_line", "GET /pipeline#x HTTP/1.1\r\nHost: t\r\n\r\n",
       {400}, kClose},
      {"non_ascii_in_target", "request_line", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: t\r\n\r\n",
       {400}, kClose},
      {"request_line_at_limit", "request_line", RequestLineOfSize(8192), {404}, kKeepOpen},
      {"request_line_over_limit_414", "request_line", RequestLineOfSize(8193), {414}, kClose},

      // --- target_form (RFC 9112 3.2)
      {"absolute_form", "target_form", "GET http://t/pipeline HTTP/1.1\r\nHost: t\r\n\r\n",
       {200}, kKeepOpen, "ok"},
      {"absolute_form_uppercase_scheme", "target_form",
       "GET HTTP://t/pipeline HTTP/1.1\r\nHost: t\r\n\r\n", {200}, kKeepOpen, "ok"},
      {"absolute_form_with_port", "target_form",
       "GET http://t:8080/pipeline HTTP/1.1\r\nHost: t:8080\r\n\r\n", {200}, kKeepOpen, "ok"},
      {"absolute_form_ipv6_literal", "target_form",
       "GET http://[::1]/pipeline HTTP/1.1\r\nHost: [::1]\r\n\r\n", {200}, kKeepOpen, "ok"},
      // RFC 9112 3.2.2: the target's authority wins over a different Host.
      {"absolute_form_overrides_host", "target_form",
       "GET http://t/pipeline HTTP/1.1\r\nHost: other\r\n\r\n", {200}, kKeepOpen, "ok"},
      {"absolute_form_with_query", "target_form",
       "GET http://t/baseline11?a=1&b=2 HTTP/1.1\r\nHost: t\r\n\r\n", {200}, kKeepOpen, "3"},
      {"absolute_form_without_path", "target_form", "GET http://t HTTP/1.1\r\nHost: t\r\n\r\n",
       {404}, kKeepOpen},
      // RFC 9110 4.2.4: userinfo in an http(s) URI is an error.
      {"absolute_form_userinfo", "target_form",
       "GET http://u@t/pipeline HTTP/1.1\r\nHost: t\r\n\r\n", {400}, kClose},
      {"absolute_form_empty_authority", "target_form",
       "GET http:///pipeline HTTP/1.1\r\nHost: t\r\n\r\n", {400}, kClose},
      {"absolute_form_still_needs_host", "target_form",
       "GET http://t/pipeline HTTP/1.1\r\n\r\n", {400}, kClose},
      {"relative_target", "target_form", "GET pipeline HTTP/1.1\r\nHost: t\r\n\r\n", {400},
       kClose},
      // RFC 9110 9.3.7: OPTIONS * asks about the server itself.
      {"asterisk_form_options", "target_form", "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n", {200},
       kKeepOpen, ""},
      {"asterisk_form_with_get", "target_form", "GET * HTTP/1.1\r\nHost: t\r\n\r\n", {400},
       kClose},
      {"authority_form_with_connect_501", "target_form",
       "CONNECT t:443 HTTP/1.1\r\nHost: t:443\r\n\r\n", {501}, kKeepOpen},
      {"authority_form_with_get", "target_form", "GET t:80 HTTP/1.1\r\nHost: t\r\n\r\n", {400},
       kClose},
      {"connect_with_origin_form", "target_form", "CONNECT /pipeline HTTP/1.1\r\nHost: t\r\n\r\n",
       {400}, kClose},

      // --- host (RFC 9112 3.2, RFC 9110 7.2)
      {"missing_host_http11", "host", get_no_host + "\r\n", {400}, kClose},
      {"missing_host_http10", "host", "GET /pipeline HTTP/1.0\r\n\r\n", {200}, kClose, "ok"},
      {"duplicate_host_equal", "host", get_no_host + "Host: t\r\nHost: t\r\n\r\n", {400},
       kClose},
      {"duplicate_host_different", "host", get_no_host + "Host: t\r\nHost: evil\r\n\r\n", {400},
       kClose},
      {"duplicate_host_http10", "host", "GET /pipeline HTTP/1.0\r\nHost: t\r\nHost: u\r\n\r\n",
       {400}, kClose},
      // RFC 9112 3.2: a client with no authority sends Host with an empty value.
      {"empty_host", "host", get_no_host + "Host:\r\n\r\n", {200}, kKeepOpen, "ok"},
      {"host_with_port", "host", get_no_host + "Host: t:8080\r\n\r\n", {200}, kKeepOpen, "ok"},
      {"host_ipv6_literal", "host", get_no_host + "Host: [::1]:8080\r\n\r\n", {200}, kKeepOpen,
       "ok"},
      {"host_lowercase_name", "host", get_no_host + "host: t\r\n\r\n", {200}, kKeepOpen, "ok"},
      {"host_with_space", "host", get_no_host + "Host: t u\r\n\r\n", {400}, kClose},
      {"host_with_slash", "host", get_no_host + "Host: t/x\r\n\r\n", {400}, kClose},
      {"host_with_userinfo", "host", get_no_host + "Host: u@t\r\n\r\n", {400}, kClose},

      // --- expect (RFC 9110 10.1.1)
      {"expect_100_waits_for_body", "expect",
       post_echo + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n", {100, 200}, kKeepOpen,
       "hello", "hello"},
      {"expect_100_case_insensitive", "expect",
       post_echo + "Expect: 100-Continue\r\nContent-Length: 5\r\n\r\n", {100, 200}, kKeepOpen,
       "hello", "hello"},
      {"expect_100_chunked", "expect",
       post_echo + "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n", {100, 200},
       kKeepOpen, "hello", hello_chunked},
      {"expect_100_body_already_sent", "expect",
       post_echo + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", {200}, kKeepOpen,
       "hello"},
      {"expect_100_no_body", "expect",
       post_echo + "Expect: 100-continue\r\nContent-Length: 0\r\n\r\n", {200}, kKeepOpen, ""},
      // The final status comes instead of 100 Continue: the client need not send the body.
      {"expect_100_over_max_body", "expect",
       post_echo + "Expect: 100-continue\r\nContent-Length: 8388609\r\n\r\n", {413}, kClose},
      // HTTP/1.0 clients cannot expect 100 Continue: no interim response, just waiting.
      {"expect_100_ignored_in_http10", "expect",
       "POST /echo HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", {}, kClose},
      {"expect_unknown_ignored", "expect",
       post_echo + "Expect: teapot\r\nContent-Length: 5\r\n\r\nhello", {200}, kKeepOpen,
       "hello"},

      // --- limits (--max_header_bytes 16384 with 100 fields, 431; --max_request_line 414
      // and --max_body 413 are in their categories)
      {"header_block_at_limit", "limits", HeaderBlockOfSize(16384), {200}, kKeepOpen, "ok"},
      {"header_block_over_limit", "limits", HeaderBlockOfSize(16385), {431}, kClose},
      // Answered before the field line ends: the server does not buffer it all.
      {"header_line_never_ends", "limits", get_prefix + "X: " + big_field, {431}, kClose},
      {"huge_field_name", "limits", get_prefix + big_field + ": v\r\n\r\n", {431}, kClose},
      {"fields_at_limit", "limits", ManyFields(99, 10), {200}, kKeepOpen, "ok"},
      {"fields_over_limit", "limits", ManyFields(100, 10), {431}, kClose},
      {"many_fields_over_header_bytes", "limits", ManyFields(90, 200), {431}, kClose},

      // --- http10_keep_alive (RFC 9112 9.3)
      {"http10_closes_by_default", "http10_keep_alive", "GET /pipeline HTTP/1.0\r\n\r\n", {200},
       kClose, "ok"},
      {"http10_keep_alive", "http10_keep_alive",
       "GET /pipeline HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", {200}, kKeepOpen, "ok"},
      {"http10_keep_alive_mixed_case", "http10_keep_alive",
       "GET /pipeline HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", {200}, kKeepOpen, "ok"},
      {"http10_keep_alive_pipelined", "http10_keep_alive",
       "GET /pipeline HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
       "GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
       {200, 200}, kKeepOpen, "ok"},
      {"http10_keep_alive_and_close", "http10_keep_alive",
       "GET /pipeline HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", {200}, kClose, "ok"},
      {"http10_post_content_length", "http10_keep_alive",
       "POST /echo HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", {200}, kClose, "hello"},
      {"http11_connection_close", "http10_keep_alive",
       get_prefix + "Connection: close\r\n\r\n", {200}, kClose, "ok"},
      {"http11_connection_close_in_list", "http10_keep_alive",
       get_prefix + "Connection: foo, close\r\n\r\n", {200}, kClose, "ok"},
      {"http11_connection_close_uppercase", "http10_keep_alive",
       get_prefix + "Connection: CLOSE\r\n\r\n", {200}, kClose, "ok"},
      {"http11_connection_keep_alive", "http10_keep_alive",
       get_prefix + "Connection: keep-alive\r\n\r\n", {200}, kKeepOpen, "ok"},

      // --- pipelining: nothing after a rejected request is ever processed (the harness
      // pipelines kSmuggled after every case that must close, these add more).
      {"valid_then_bad_then_echo", "pipelining",
       get_pipeline + "GET /x HTTP/1.1\r\nHost : t\r\n\r\n" + std::string(kSmuggled),
       {200, 400}, kClose, "ok"},
      {"three_valid_pipelined", "pipelining", get_pipeline + get_pipeline + get_pipeline,
       {200, 200, 200}, kKeepOpen, "ok"},
      // CL.TE: a front end framing by Content-Length would forward the smuggled request as
      // this one's body; one framing by chunked would see it as the next request.
      {"cl_te_smuggle", "pipelining",
       post_echo + "Content-Length: 71\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
           std::string(kSmuggled),
       {400}, kClose},
      // TE.CL: the reverse; the chunk holds the smuggled request.
      {"te_cl_smuggle", "pipelining",
       post_echo + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n42\r\n" +
           std::string(kSmuggled) + "\r\n0\r\n\r\n",
       {400}, kClose},
      {"chunk_size_overflow_smuggle", "pipelining",
       chunked + "10000000000000000\r\n\r\n" + std::string(kSmuggled), {400}, kClose},
      {"bad_request_line_then_echo", "pipelining", "GET /\r\n\r\n" + std::string(kSmuggled),
       {400}, kClose},
      {"http10_then_echo", "pipelining", "GET /pipeline HTTP/1.0\r\n\r\n" + std::string(kSmuggled),
       {200}, kClose, "ok"},
  };
}

}  // namespace

const std::vector<ConformanceCase>& ConformanceCases() {
  static const std::vector<ConformanceCase>* const cases =
      new std::vector<ConformanceCase>(MakeCases());
  return *cases;
}

}  // namespace ringside::http
