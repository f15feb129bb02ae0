#pragma once

// Config `external_labels`: labels added to every series on /metrics, after
// collection, so no metric definition has to know about them (the replica
// label of an HA pair for Thanos / Mimir deduplication). A label a series
// already has is not overwritten. Pure; thread-safe.

#include <map>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

namespace aw::exporters {

// Appends each label to every metric of `families`. A label a series
// already has keeps its own value, as Prometheus does with external labels.
void AddExternalLabels(std::vector<prometheus::MetricFamily>& families,
                       const std::map<std::string, std::string>& labels);

}  // namespace aw::exporters
