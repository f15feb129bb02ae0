#include "exporters/external_labels.h"

#include <algorithm>

namespace aw::exporters {

void AddExternalLabels(std::vector<prometheus::MetricFamily>& families,
                       const std::map<std::string, std::string>& labels) {
  if (labels.empty()) return;
  for (prometheus::MetricFamily& family : families) {
    for (prometheus::ClientMetric& metric : family.metric) {
      for (const auto& label : labels) {
        const std::string& name = label.first;
        const bool present =
            std::any_of(metric.label.begin(), metric.label.end(),
                        [&](const prometheus::ClientMetric::Label& l) { return l.name == name; });
        if (!present) metric.label.push_back({name, label.second});
      }
    }
  }
}

}  // namespace aw::exporters
