// The PROXY protocol (ReactorConfig::proxy_versions): a load balancer's header before the
// client's bytes names the client. The reactor takes it before the handler sees a byte, so
// it works the same for every handler, buffer mode (incremental or shared: the header is
// consumed from the input stream in place, the bytes after it stay where they are) and
// worker mode (the handler's batching only ever sees what follows the header).
//
// At accept, a connection whose TCP peer is outside the trusted networks is closed. Then
// every call of RunHandler parses what has arrived: a complete header is consumed and its
// source becomes the connection's peer; bytes that start no accepted header, a malformed
// or oversized one, or the connection ending (or the header timeout passing, timers.cc)
// before the header is complete close the connection. Each refusal is counted by reason
// and logged at most once per interval. A refused connection gets no reply: the protocol
// has none, and the peer is a balancer or someone who should not be talking to us.
#include <netinet/in.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "ringside/reactor/reactor_impl.h"
#include "ringside/reactor/sockets.h"

namespace ringside {

bool Reactor::Impl::ExpectProxyHeader(Connection& c) {
  sockaddr_storage source{};
  socklen_t size = sizeof(source);
  if (getpeername(c.fd, reinterpret_cast<sockaddr*>(&source), &size) != 0) {
    RefuseProxy(c, &totals_.proxy_refused_incomplete, "the connection ended at once");
    return false;
  }
  if (!config_.proxy_trusted.Contains(reinterpret_cast<const sockaddr*>(&source))) {
    RefuseProxy(c, &totals_.proxy_refused_untrusted,
                "the source is not in --proxy_trusted_networks");
    return false;
  }
  c.awaiting_proxy_header = true;
  c.proxy_deadline_ms = now_ms_ + config_.proxy_header_timeout_ms;
  return true;
}

// True once the header is taken and the handler may run; false while it is incomplete (the
// connection keeps receiving) or after a refusal (the connection is closing).
bool Reactor::Impl::TakeProxyHeader(Connection& c) {
  const ProxyHeader header = ParseProxyHeader(c.in.pending(), config_.proxy_versions);
  switch (header.status) {
    case ProxyHeader::Status::kNeedMore:
      if (c.receive == Receive::kEnded) {
        RefuseProxy(c, &totals_.proxy_refused_incomplete,
                    "the connection ended before the header was complete");
      } else {
        AfterHandler(c);  // a partial header stays in the input; receiving goes on
      }
      return false;
    case ProxyHeader::Status::kMissing:
      RefuseProxy(c, &totals_.proxy_refused_missing, "no PROXY header of an accepted version");
      return false;
    case ProxyHeader::Status::kMalformed:
      RefuseProxy(c, &totals_.proxy_refused_malformed, "malformed or oversized PROXY header");
      return false;
    case ProxyHeader::Status::kComplete:
      break;
  }
  c.in.Consume(header.size);
  c.awaiting_proxy_header = false;
  c.proxy_version = header.version;
  ++totals_.proxy_headers_accepted;
  if (header.source.ss_family != AF_UNSPEC) {
    c.socket_peer = std::make_unique<std::string>(PeerName(c.fd));
    c.peer = AddressName(header.source);
  }
  return true;
}

void Reactor::Impl::RefuseProxy(Connection& c, uint64_t* reason, std::string_view why) {
  ++*reason;
  proxy_refusal_log_.Write([&] {
    return absl::StrCat("reactor ", config_.id, ": PROXY protocol: closed the connection from ",
                        PeerName(c.fd), ": ", absl::string_view(why.data(), why.size()));
  });
  Close(c);
}

}  // namespace ringside
