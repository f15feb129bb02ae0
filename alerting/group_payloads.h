#pragma once

// What a grouped receiver is sent for one GroupNotification (grouping.h),
// built from the per-alert builders of payloads.h. Pure: no I/O, no clock.
// Each returns the body as sent (JSON text, as payloads.h's do).
//
//   webhook       one Alertmanager webhook v4 body: `alerts` lists the
//                 group's alerts with their own status; `status` is firing
//                 while any alert fires; groupLabels are the group_by labels,
//                 commonLabels / commonAnnotations the pairs every alert
//                 shares, groupKey the group's key
//   alertmanager  one POST /api/v2/alerts array with every alert
//   slack         one message: "[FIRING:2] <group labels>" then a line per
//                 alert (its per-alert text)
//   pagerduty     one Events v2 event per alert (its dedup key is per
//                 alert); see BuildGroupPagerDutyEvents

#include <string>
#include <vector>

#include "alerting/grouping.h"
#include "alerting/payloads.h"

namespace aw::alerting {

std::string BuildGroupWebhookV4(const std::string& receiver_name, const GroupNotification& group,
                                const PayloadOptions& options);

std::string BuildGroupAlertmanagerAlerts(const GroupNotification& group,
                                         const PayloadOptions& options, TimeMs now);

std::string BuildGroupSlackMessage(const GroupNotification& group, const PayloadOptions& options);

// The events for the group's send_fingerprints, in the group's order.
std::vector<std::string> BuildGroupPagerDutyEvents(const std::string& routing_key,
                                                   const GroupNotification& group,
                                                   const PayloadOptions& options, TimeMs now);

}  // namespace aw::alerting
