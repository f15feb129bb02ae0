#pragma once

// The alert page, <external_url>/alerts/<fingerprint>: what a notification
// links to. One self-contained HTML page (no scripts, no external assets)
// with the alert, its figure over time against the threshold, the worst
// investigations behind it and its notifications per receiver. Pure: the
// handler (alert_page_handlers.cc) gathers the data.

#include <optional>
#include <string>
#include <vector>

#include "daemon/common/types.h"
#include "daemon/store/investigation_reads.h"

namespace aw::server {

struct AlertPageData {
  std::string fingerprint;
  std::string name;
  Labels labels;
  Labels annotations;
  std::string state;  // "pending" | "firing"
  double value = 0;
  TimeMs active_since_ms = 0;
  TimeMs fired_at_ms = 0;  // 0 while pending

  // The figure the rule watches.
  Sli sli = Sli::kInvestigations;
  std::string stat;    // "" or "p95", ...
  std::string window;  // as configured: "1h", "100 investigations"
  // What $value is held against (the threshold of a plain rule, an SLO
  // tier's burn-rate factor, a budget's spend, a compare bound), with op.
  std::optional<double> threshold;
  std::string op;  // with threshold: > >= < <=

  // How the value, the chart and the threshold read: in the SLI's unit, as
  // a multiple (burn rates, compare ratios: "14.4x") or in dollars.
  enum class Unit : uint8_t { kSli, kTimes, kUsd };
  Unit unit = Unit::kSli;
  std::string figure;       // what value and history are; "" = the SLI and stat over window
  std::string figure_note;  // the legend for the line, e.g. how it is computed
  std::string threshold_name = "threshold";  // "burn-rate threshold", "budget", "bound"
  std::string threshold_note;                // the legend for the threshold line

  // The figure at evenly spaced ends, oldest first, the last at now.
  std::vector<std::optional<double>> history;
  Millis history_step{0};

  struct Investigation {
    std::string id;
    std::string agent;
    TimeMs ts = 0;
    std::string incident_id;
    std::string verdict;          // "confirm" | "override" | ""
    std::optional<double> value;  // its own share of the figure (cost, tool calls, ...)
    std::optional<double> confidence;
  };
  // The worst first (see WorstFirst), at most a page's worth.
  std::vector<Investigation> investigations;
  int64_t investigations_behind = 0;  // how many the figure's window holds (of those read)
  std::string ranked_by;              // how `investigations` is ordered, in words

  std::vector<NotificationRecord> notifications;  // newest first
};

std::string RenderAlertPage(const AlertPageData& data, TimeMs now);

// An SLO alert's burn-rate tier in words, e.g. "page tier: 2% of the 28d
// error budget in 1h" (rules/ hands out the tier's facts only).
std::string SloTierNote(const std::string& severity, double budget_fraction,
                        const std::string& period_name, Millis long_window);

// `v` in the page's unit (AlertPageData::unit).
std::string FormatAlertValue(const AlertPageData& data, std::optional<double> v);

// The 404 page for a fingerprint no active alert has; lists the
// notifications still stored for it (a resolved alert's), if any.
std::string RenderAlertNotFound(const std::string& fingerprint,
                                const std::vector<NotificationRecord>& notifications);

// Orders `records` worst first for `sli`: overrides first for verdict
// SLIs, the largest per-investigation value (from `value_of`) for cost,
// tool calls, tokens and duration, newest first otherwise (and as the
// tie-break). Returns the words for AlertPageData::ranked_by.
std::string WorstFirst(Sli sli, std::vector<AlertPageData::Investigation>& records);

// The per-investigation quantity behind `sli` (cost, tool calls, tokens,
// duration), nullopt for the others.
std::optional<double> InvestigationValue(Sli sli, const Span& span,
                                         std::optional<double> priced_cost);

}  // namespace aw::server
