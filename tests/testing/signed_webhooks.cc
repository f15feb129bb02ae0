#include "tests/testing/signed_webhooks.h"

#include <cctype>

#include "daemon/common/hmac.h"

namespace aw::testing {

std::string FormEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

httplib::Headers SlackSignedHeaders(const std::string& body, int64_t unix_seconds,
                                    const std::string& secret) {
  const std::string t = std::to_string(unix_seconds);
  return {{"X-Slack-Request-Timestamp", t},
          {"X-Slack-Signature", "v0=" + HmacSha256Hex(secret, "v0:" + t + ":" + body)}};
}

httplib::Headers PagerDutySignedHeaders(const std::string& body, const std::string& secret) {
  return {{"X-PagerDuty-Signature", "v1=" + HmacSha256Hex(secret, body)}};
}

}  // namespace aw::testing
