#pragma once

// The daemon's own metric families (prometheus-cpp core) and the per-agent
// counters of the contract. Created once per process; thread-safe (the
// prometheus-cpp families are).

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "daemon/common/types.h"
#include "exporters/model_label_cap.h"

namespace aw::exporters {

class DaemonMetrics {
 public:
  explicit DaemonMetrics(const std::string& version);

  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }

  // Counts accepted spans under their agent (and model for tokens/cost).
  // The model label (`model`, else `response_model`) is capped at
  // SetMaxModels distinct values (default 200); the rest count as "other"
  // and in agentwatch_model_labels_folded_total.
  // Sums per (agent, model) first, into counters found once per agent and
  // model: a label lookup per series and batch was 14 % of the writer
  // thread with 1,000 agents in batches of 1000.
  void CountSpans(const std::vector<Span>& spans, const Pricing& pricing);
  void CountFeedback(const std::string& agent, Verdict verdict);
  void CountRejected(const std::string& endpoint, const std::string& reason, double n = 1);
  void CountRequest(const std::string& endpoint, int code, double seconds);
  void ObserveCommit(double seconds, double records);
  void CountOverCardinality(double n);
  void ObserveEvaluation(double seconds);
  void SetReload(bool success, TimeMs at_ms);
  void SetOutboxDepth(double depth);
  void SetReady(bool ready);
  void SetMaxModels(int64_t max_models);
  // OTLP span assembly: the spans held now, and running totals of the
  // descendants joined after their investigation and of the spans dropped.
  // Totals are the caller's cumulative counts (they never decrease); the
  // counters advance by the difference.
  void SetOtlpSpans(double held, double joined_late_total, double dropped_total);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& investigations_;
  prometheus::Family<prometheus::Counter>& feedback_;
  prometheus::Family<prometheus::Counter>& tokens_;
  prometheus::Family<prometheus::Counter>& cost_;
  prometheus::Family<prometheus::Counter>& tool_calls_;
  prometheus::Family<prometheus::Counter>& unpriced_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_seconds_;
  prometheus::Histogram& commit_seconds_;
  prometheus::Histogram& commit_records_;
  prometheus::Counter& over_cardinality_;
  prometheus::Histogram& evaluation_seconds_;
  prometheus::Gauge& reload_success_;
  prometheus::Gauge& reload_timestamp_;
  prometheus::Gauge& outbox_depth_;
  prometheus::Gauge& ready_;
  prometheus::Counter& models_folded_;
  ModelLabelCap models_;
  prometheus::Gauge& otlp_held_;
  prometheus::Counter& otlp_joined_late_;
  prometheus::Counter& otlp_dropped_;
  std::mutex otlp_mu_;  // one SetOtlpSpans at a time: read-then-increment

  // The per-agent counters, found once: prometheus-cpp keeps a counter at
  // its address until the series is removed, which these never are. Bounded
  // by limits.max_agents and max_models. A series is created the first time
  // it has something to count, as before.
  struct ModelSeries {
    std::string model;
    prometheus::Counter* tokens[4] = {};  // input, output, cache_read, cache_write
    prometheus::Counter* cost = nullptr;
    prometheus::Counter* unpriced = nullptr;
    double add_tokens[4] = {}, add_cost = 0, add_unpriced = 0;  // this batch
  };
  struct AgentSeries {
    prometheus::Counter* investigations = nullptr;
    prometheus::Counter* tool_calls = nullptr;
    // agentwatch_feedback_total by verdict (confirm, override): a verdict
    // arrives per record, and Family::Add built and hashed a label map each.
    prometheus::Counter* verdicts[2] = {};
    std::vector<ModelSeries> models;                    // a handful per agent
    double add_investigations = 0, add_tool_calls = 0;  // this batch
    bool touched = false;
  };
  // One CountSpans (or CountFeedback) at a time: the batch sums live in series_.
  std::mutex spans_mu_;
  std::unordered_map<std::string, AgentSeries> series_;

  // The request series, found once per endpoint (and code): CountRequest
  // runs for every request, some on the ingest writer's thread, and
  // prometheus-cpp's Add builds a label map and takes its family's lock.
  struct EndpointSeries {
    prometheus::Histogram* seconds = nullptr;
    std::vector<std::pair<int, prometheus::Counter*>> by_code;  // a handful
  };
  std::mutex requests_mu_;
  std::unordered_map<std::string, EndpointSeries> request_series_;  // by endpoint
};

}  // namespace aw::exporters
