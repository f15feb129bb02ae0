#pragma once

// The delivery side's view of the configured receivers: ReceiverConfig (the
// config file's model) to alerting::ReceiverOptions.

#include <vector>

#include "alerting/receiver.h"
#include "daemon/config/config.h"

namespace aw::server {

alerting::ReceiverOptions ToReceiverOptions(const ReceiverConfig& config);
std::vector<alerting::ReceiverOptions> ToReceiverOptions(
    const std::vector<ReceiverConfig>& configs);

}  // namespace aw::server
