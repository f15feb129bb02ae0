#include "exporters/daemon_metrics.h"

#include <algorithm>
#include <map>

namespace aw::exporters {

namespace {
using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}
}  // namespace

DaemonMetrics::DaemonMetrics(const std::string& version)
    : registry_(std::make_shared<prometheus::Registry>()),
      investigations_(BuildCounter()
                          .Name("agentwatch_investigations_total")
                          .Help("Span summaries accepted, by agent.")
                          .Register(*registry_)),
      feedback_(BuildCounter()
                    .Name("agentwatch_feedback_total")
                    .Help("Human verdicts accepted, by agent and verdict.")
                    .Register(*registry_)),
      tokens_(BuildCounter()
                  .Name("agentwatch_tokens_total")
                  .Help("Tokens reported by accepted spans, by agent, model and type.")
                  .Register(*registry_)),
      cost_(BuildCounter()
                .Name("agentwatch_cost_usd_total")
                .Help("Cost in USD of accepted spans (reported, else priced), by agent and model.")
                .Register(*registry_)),
      tool_calls_(BuildCounter()
                      .Name("agentwatch_tool_calls_total")
                      .Help("Tool calls reported by accepted spans, by agent.")
                      .Register(*registry_)),
      unpriced_(BuildCounter()
                    .Name("agentwatch_unpriced_investigations_total")
                    .Help("Spans without a cost whose model has no price (counted as 0 USD).")
                    .Register(*registry_)),
      rejected_(BuildCounter()
                    .Name("agentwatch_ingest_rejected_total")
                    .Help("Records or requests rejected, by endpoint and reason.")
                    .Register(*registry_)),
      requests_(BuildCounter()
                    .Name("agentwatch_http_requests_total")
                    .Help("HTTP requests served, by endpoint and status code.")
                    .Register(*registry_)),
      request_seconds_(BuildHistogram()
                           .Name("agentwatch_http_request_duration_seconds")
                           .Help("HTTP request latency, by endpoint.")
                           .Register(*registry_)),
      commit_seconds_(BuildHistogram()
                          .Name("agentwatch_store_commit_duration_seconds")
                          .Help("Time of one group commit (insert, commit, apply to windows).")
                          .Register(*registry_)
                          .Add({}, LatencyBuckets())),
      commit_records_(BuildHistogram()
                          .Name("agentwatch_store_commit_records")
                          .Help("Records per group commit.")
                          .Register(*registry_)
                          .Add({}, Histogram::BucketBoundaries{1, 2, 5, 10, 50, 100, 500, 1000,
                                                               5000, 10000, 50000})),
      over_cardinality_(BuildCounter()
                            .Name("agentwatch_cardinality_limited_total")
                            .Help("Records counted under agent \"other\" or without labels "
                                  "because limits.max_agents / max_label_sets was reached.")
                            .Register(*registry_)
                            .Add({})),
      evaluation_seconds_(BuildHistogram()
                              .Name("agentwatch_rule_evaluation_duration_seconds")
                              .Help("Time of one evaluation of the rules.")
                              .Register(*registry_)
                              .Add({}, LatencyBuckets())),
      reload_success_(BuildGauge()
                          .Name("agentwatch_config_last_reload_successful")
                          .Help("1 if the last config/rules reload succeeded.")
                          .Register(*registry_)
                          .Add({})),
      reload_timestamp_(BuildGauge()
                            .Name("agentwatch_config_last_reload_success_timestamp_seconds")
                            .Help("Unix time of the last successful reload.")
                            .Register(*registry_)
                            .Add({})),
      outbox_depth_(BuildGauge()
                        .Name("agentwatch_outbox_pending")
                        .Help("Notifications waiting for delivery.")
                        .Register(*registry_)
                        .Add({})),
      ready_(BuildGauge()
                 .Name("agentwatch_ready")
                 .Help("1 once state is rebuilt from the store and ingest is open.")
                 .Register(*registry_)
                 .Add({})),
      models_folded_(BuildCounter()
                         .Name("agentwatch_model_labels_folded_total")
                         .Help("Spans counted under model \"other\" because limits.max_models "
                               "distinct models were already in use.")
                         .Register(*registry_)
                         .Add({})),
      otlp_held_(
          BuildGauge()
              .Name("agentwatch_otlp_spans_held")
              .Help("OTLP spans held in memory waiting for (or open to) their investigation.")
              .Register(*registry_)
              .Add({})),
      otlp_joined_late_(
          BuildCounter()
              .Name("agentwatch_otlp_spans_joined_late_total")
              .Help("OTLP descendant spans applied to an investigation stored before them.")
              .Register(*registry_)
              .Add({})),
      otlp_dropped_(BuildCounter()
                        .Name("agentwatch_otlp_spans_dropped_total")
                        .Help("OTLP spans that never counted: over otlp.max_pending_spans, past "
                              "otlp.assembly_window without their investigation, or arriving after "
                              "their investigation was stored.")
                        .Register(*registry_)
                        .Add({})) {
  BuildGauge()
      .Name("agentwatch_build_info")
      .Help("Build information; always 1.")
      .Register(*registry_)
      .Add({{"version", version}})
      .Set(1);
  // Series that exist from the start, so rate() and alerts on them work
  // before the first rejection.
  for (const char* endpoint : {"/v1/spans", "/v1/feedback", "/v1/resolutions"}) {
    for (const char* reason : {"invalid", "malformed", "too_old", "future", "too_large", "too_many",
                               "unsupported_media_type", "unauthorized", "unavailable"}) {
      rejected_.Add({{"endpoint", endpoint}, {"reason", reason}});
    }
  }
}

void DaemonMetrics::CountSpans(const std::vector<Span>& spans, const Pricing& pricing) {
  static const char* kTokenTypes[4] = {"input", "output", "cache_read", "cache_write"};
  std::lock_guard lock(spans_mu_);
  std::vector<std::pair<const std::string*, AgentSeries*>> touched;  // agent name, its series
  int64_t folded = 0;
  for (const Span& span : spans) {
    const std::string model =
        models_.Label(span.model.empty() ? span.response_model : span.model, &folded);
    auto [it, created] = series_.try_emplace(span.agent);
    AgentSeries& a = it->second;
    if (!a.touched) {
      a.touched = true;
      touched.emplace_back(&it->first, &a);
    }
    auto m = std::find_if(a.models.begin(), a.models.end(),
                          [&](const ModelSeries& ms) { return ms.model == model; });
    if (m == a.models.end()) {
      a.models.push_back(ModelSeries{});
      m = a.models.end() - 1;
      m->model = model;
    }
    a.add_investigations += 1;
    if (span.tool_calls) a.add_tool_calls += static_cast<double>(*span.tool_calls);
    const std::optional<int64_t>* tokens[4] = {&span.input_tokens, &span.output_tokens,
                                               &span.cache_read_tokens,
                                               &span.cache_creation_tokens};
    for (int i = 0; i < 4; ++i) {
      if (*tokens[i]) m->add_tokens[i] += static_cast<double>(**tokens[i]);
    }
    if (auto cost = PriceSpan(span, pricing)) {
      m->add_cost += *cost;
    } else {
      m->add_unpriced += 1;
    }
    // Every (agent, model) seen has a cost series, even at 0.
    if (m->cost == nullptr) m->cost = &cost_.Add({{"agent", span.agent}, {"model", model}});
  }
  for (auto [agent, a] : touched) {
    if (a->investigations == nullptr) {
      a->investigations = &investigations_.Add({{"agent", *agent}});
      a->tool_calls = &tool_calls_.Add({{"agent", *agent}});
    }
    a->investigations->Increment(a->add_investigations);
    a->tool_calls->Increment(a->add_tool_calls);
    a->add_investigations = a->add_tool_calls = 0;
    a->touched = false;
    for (ModelSeries& m : a->models) {
      for (int i = 0; i < 4; ++i) {
        if (m.add_tokens[i] <= 0) continue;
        if (m.tokens[i] == nullptr) {
          m.tokens[i] =
              &tokens_.Add({{"agent", *agent}, {"model", m.model}, {"type", kTokenTypes[i]}});
        }
        m.tokens[i]->Increment(m.add_tokens[i]);
        m.add_tokens[i] = 0;
      }
      m.cost->Increment(m.add_cost);
      if (m.add_unpriced > 0) {
        if (m.unpriced == nullptr)
          m.unpriced = &unpriced_.Add({{"agent", *agent}, {"model", m.model}});
        m.unpriced->Increment(m.add_unpriced);
      }
      m.add_cost = m.add_unpriced = 0;
    }
  }
  if (folded > 0) models_folded_.Increment(static_cast<double>(folded));
}

void DaemonMetrics::SetMaxModels(int64_t max_models) { models_.SetMax(max_models); }

void DaemonMetrics::CountFeedback(const std::string& agent, Verdict verdict) {
  const int v = verdict == Verdict::kConfirm ? 0 : verdict == Verdict::kOverride ? 1 : -1;
  if (v < 0) {
    feedback_.Add({{"agent", agent}, {"verdict", VerdictName(verdict)}}).Increment();
    return;
  }
  prometheus::Counter* counter;
  {
    std::lock_guard lock(spans_mu_);
    prometheus::Counter*& found = series_[agent].verdicts[v];
    if (found == nullptr) {
      found = &feedback_.Add({{"agent", agent}, {"verdict", VerdictName(verdict)}});
    }
    counter = found;
  }
  counter->Increment();
}

void DaemonMetrics::CountRejected(const std::string& endpoint, const std::string& reason,
                                  double n) {
  rejected_.Add({{"endpoint", endpoint}, {"reason", reason}}).Increment(n);
}

void DaemonMetrics::CountRequest(const std::string& endpoint, int code, double seconds) {
  prometheus::Counter* requests = nullptr;
  prometheus::Histogram* latency = nullptr;
  {
    std::lock_guard lock(requests_mu_);
    EndpointSeries& e = request_series_[endpoint];
    if (e.seconds == nullptr) {
      e.seconds = &request_seconds_.Add({{"endpoint", endpoint}}, LatencyBuckets());
    }
    latency = e.seconds;
    for (const auto& [c, counter] : e.by_code) {
      if (c == code) requests = counter;
    }
    if (requests == nullptr) {
      requests = &requests_.Add({{"endpoint", endpoint}, {"code", std::to_string(code)}});
      e.by_code.emplace_back(code, requests);
    }
  }
  requests->Increment();
  latency->Observe(seconds);
}

void DaemonMetrics::ObserveCommit(double seconds, double records) {
  commit_seconds_.Observe(seconds);
  commit_records_.Observe(records);
}

void DaemonMetrics::CountOverCardinality(double n) { over_cardinality_.Increment(n); }
void DaemonMetrics::ObserveEvaluation(double seconds) { evaluation_seconds_.Observe(seconds); }

void DaemonMetrics::SetReload(bool success, TimeMs at_ms) {
  reload_success_.Set(success ? 1 : 0);
  if (success) reload_timestamp_.Set(static_cast<double>(at_ms) / 1000.0);
}

void DaemonMetrics::SetOutboxDepth(double depth) { outbox_depth_.Set(depth); }
void DaemonMetrics::SetReady(bool ready) { ready_.Set(ready ? 1 : 0); }

void DaemonMetrics::SetOtlpSpans(double held, double joined_late_total, double dropped_total) {
  std::lock_guard lock(otlp_mu_);
  otlp_held_.Set(held);
  if (joined_late_total > otlp_joined_late_.Value()) {
    otlp_joined_late_.Increment(joined_late_total - otlp_joined_late_.Value());
  }
  if (dropped_total > otlp_dropped_.Value())
    otlp_dropped_.Increment(dropped_total - otlp_dropped_.Value());
}

}  // namespace aw::exporters
