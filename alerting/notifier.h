#pragma once

// The seam between the outbox loop and the network (OpenTelemetry exporter
// style: narrow, noexcept, the result says whether to retry). Owns nothing;
// an implementation is called from several delivery threads at once.

#include <string>

#include "alerting/grouping.h"
#include "alerting/receiver.h"

#include "daemon/common/clock.h"
#include "daemon/common/types.h"

namespace aw::alerting {

enum class DeliveryStatus {
  kDelivered,  // 2xx
  kRetryable,  // 429, 5xx, timeout, connection or TLS error
  kPermanent,  // any other 4xx (or 3xx), an unusable URL or config
};

const char* DeliveryStatusName(DeliveryStatus s);  // delivered|retryable|...

struct DeliveryResult {
  DeliveryStatus status = DeliveryStatus::kDelivered;
  // From the response's Retry-After (seconds or HTTP-date); 0 when absent.
  Millis retry_after{0};
  std::string error;    // empty when delivered: "HTTP 503: <body prefix>"
  int http_status = 0;  // 0 when no response was received

  static DeliveryResult Delivered(int code = 200) {
    return {DeliveryStatus::kDelivered, Millis(0), "", code};
  }
  static DeliveryResult Retryable(std::string error, Millis after = Millis(0), int code = 0) {
    return {DeliveryStatus::kRetryable, after, std::move(error), code};
  }
  static DeliveryResult Permanent(std::string error, int code = 0) {
    return {DeliveryStatus::kPermanent, Millis(0), std::move(error), code};
  }
};

// Sends one alert event to one receiver, once (no retries: the outbox
// retries). Implementations must be safe for concurrent calls from several
// threads (one worker per receiver) and must not throw.
class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual DeliveryResult Send(const ReceiverOptions& receiver, const AlertEvent& event,
                              TimeMs now) noexcept = 0;

  // Sends one group message (grouping.h), once. This default sends its
  // alerts one Send each and stops at the first that is not delivered.
  virtual DeliveryResult SendGroup(const ReceiverOptions& receiver, const GroupNotification& group,
                                   TimeMs now) noexcept {
    for (const AlertEvent& e : group.alerts) {
      DeliveryResult r = Send(receiver, e, now);
      if (r.status != DeliveryStatus::kDelivered) return r;
    }
    return DeliveryResult::Delivered();
  }
};

}  // namespace aw::alerting
