#include "ringside/services/admin/bearer_token.h"

namespace ringside::admin {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Compares in time independent of where the strings differ, so response timing does not
// reveal how much of a guessed token was right.
bool SameToken(grpc::string_ref a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a.data()[i] ^ (i < b.size() ? b[i] : 0);
  return diff == 0;
}

// One per call: decides on the received metadata, then censors what the handler sends.
class BearerTokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string& token) : token_(token) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      denied_ = !BearerTokenAuthorized(*methods->GetRecvInitialMetadata(), token_);
    }
    if (denied_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      if (grpc::ByteBuffer* message = methods->GetSerializedSendMessage()) message->Clear();
    }
    if (denied_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      methods->ModifySendStatus(UnauthenticatedStatus());
    }
    methods->Proceed();
  }

 private:
  const std::string& token_;
  bool denied_ = false;
};

}  // namespace

grpc::Status UnauthenticatedStatus() {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      "this admin service requires the metadata 'authorization: Bearer <token>' "
                      "with the server's token (--admin_token_file or --admin_token)");
}

bool BearerTokenAuthorized(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                           const std::string& token) {
  if (token.empty()) return true;
  const std::string expected = "Bearer " + token;
  bool authorized = false;
  const auto [begin, end] = metadata.equal_range("authorization");
  for (auto it = begin; it != end; ++it) authorized |= SameToken(it->second, expected);
  return authorized;
}

grpc::experimental::Interceptor* BearerTokenInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo*) {
  return new BearerTokenInterceptor(token_);
}

}  // namespace ringside::admin
