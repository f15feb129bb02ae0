// The HTML pages' pure parts: escaping, units, durations, the chart's scale,
// the worst-first order of an alert's investigations, and the alert page.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "daemon/server/alert_page.h"
#include "daemon/server/page_util.h"
#include "daemon/server/status_page.h"

namespace aw::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(PagesTest, EscapesEverythingThatCouldOpenATagOrAttribute) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  // Not UTF-8 (a lone byte, an overlong '<', a surrogate, a cut sequence):
  // U+FFFD each; well-formed sequences pass through.
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(HtmlEscape("a\xFF<"), "a" + r + "&lt;");
  EXPECT_EQ(HtmlEscape("\xC0\xBC"), r + r);
  EXPECT_EQ(HtmlEscape("\xED\xA0\x80"), r + r + r);
  EXPECT_EQ(HtmlEscape("\xE2\x82"), r + r);
  EXPECT_EQ(HtmlEscape("caf\xC3\xA9 \xF0\x9F\x94\xA5"), "caf\xC3\xA9 \xF0\x9F\x94\xA5");
  EXPECT_EQ(UrlEncode("a/b c<>"), "a%2Fb%20c%3C%3E");
  EXPECT_EQ(SafeLink("javascript:alert(1)", "Runbook"), "Runbook: javascript:alert(1)");
  EXPECT_EQ(SafeLink("https://w/x?a=1&b=\"", "R"),
            "<a href=\"https://w/x?a=1&amp;b=&quot;\">R</a>");
}

TEST(PagesTest, ValuesCarryTheirSliUnits) {
  EXPECT_EQ(FormatSliValue(Sli::kOverrideRate, 0.375), "37.5%");
  EXPECT_EQ(FormatSliValue(Sli::kCostUsd, 2.0), "$2.00");
  EXPECT_EQ(FormatSliValue(Sli::kCostPerInvestigation, 0.0123), "$0.0123");
  EXPECT_EQ(FormatSliValue(Sli::kDurationMs, 1250), "1.2 s");
  EXPECT_EQ(FormatSliValue(Sli::kDurationMs, 350), "350 ms");
  EXPECT_EQ(FormatSliValue(Sli::kToolCalls, 14), "14");
  EXPECT_EQ(FormatSliValue(Sli::kInputTokens, 12345), "12.3k tok");
  EXPECT_EQ(FormatSliValue(Sli::kToolCalls, std::nullopt), "-");
}

TEST(PagesTest, DurationsInWords) {
  EXPECT_EQ(FormatDuration(Millis(42'000)), "42 s");
  EXPECT_EQ(FormatDuration(Millis(6 * 60'000 + 59'000)), "6 min");
  EXPECT_EQ(FormatDuration(Millis(125 * 60'000)), "2 h 5 min");
  EXPECT_EQ(FormatDuration(Millis(120 * 60'000)), "2 h");
  EXPECT_EQ(FormatDuration(Millis((3 * 24 + 4) * 3'600'000LL)), "3 d 4 h");
  EXPECT_EQ(FormatDuration(Millis(-5)), "0 s");
}

TEST(PagesTest, ChartScaleSpansTheDataAndTheThreshold) {
  ChartOptions o;
  o.sli = Sli::kOverrideRate;
  o.threshold = 0.5;
  const std::string svg = LineChart({0.1, std::nullopt, 0.2, 0.3}, o);
  // Top of the scale is the threshold (above every point), bottom the least.
  EXPECT_THAT(svg, HasSubstr("class=\"scale-max\" x=\"41\" y=\"10\" text-anchor=\"end\">50.0%<"));
  EXPECT_THAT(svg, HasSubstr(">10.0%</text>"));
  EXPECT_THAT(svg, HasSubstr("class=\"threshold\""));
  // The gap splits the line: two moves.
  const std::regex moves(" M");
  EXPECT_EQ(
      std::distance(std::sregex_iterator(svg.begin(), svg.end(), moves), std::sregex_iterator()),
      2);
  EXPECT_THAT(LineChart({std::nullopt}, {}), HasSubstr("no data"));
}

AlertPageData::Investigation Inv(const std::string& id, TimeMs ts, const std::string& verdict,
                                 std::optional<double> value, std::optional<double> confidence) {
  AlertPageData::Investigation i;
  i.id = id;
  i.ts = ts;
  i.verdict = verdict;
  i.value = value;
  i.confidence = confidence;
  return i;
}

std::vector<std::string> Ids(const std::vector<AlertPageData::Investigation>& v) {
  std::vector<std::string> out;
  for (const auto& i : v) out.push_back(i.id);
  return out;
}

TEST(PagesTest, WorstFirstByVerdictOrByValue) {
  std::vector<AlertPageData::Investigation> v = {
      Inv("old-override", 1, "override", 5, 0.9), Inv("confirm", 5, "confirm", 50, 0.99),
      Inv("new-override", 4, "override", 1, 0.9), Inv("sure-override", 2, "override", 2, 0.95),
      Inv("unreviewed", 3, "", std::nullopt, std::nullopt)};
  auto by_verdict = v;
  WorstFirst(Sli::kOverrideRate, by_verdict);
  EXPECT_EQ(Ids(by_verdict), (std::vector<std::string>{"sure-override", "new-override",
                                                       "old-override", "confirm", "unreviewed"}));
  auto by_cost = v;
  WorstFirst(Sli::kCostUsd, by_cost);
  EXPECT_EQ(Ids(by_cost), (std::vector<std::string>{"confirm", "old-override", "sure-override",
                                                    "new-override", "unreviewed"}));
  auto newest = v;
  WorstFirst(Sli::kInvestigations, newest);
  EXPECT_EQ(Ids(newest), (std::vector<std::string>{"confirm", "new-override", "unreviewed",
                                                   "sure-override", "old-override"}));
}

TEST(PagesTest, AlertPageEscapesLabelsAndAnnotations) {
  AlertPageData d;
  d.fingerprint = "00ff";
  d.name = "CostRunaway";
  d.labels = {{"agent", "ir"}, {"env", "<script>alert(1)</script>"}};
  d.annotations = {{"summary", "<b>too much</b>"}, {"runbook_url", "javascript:alert(2)"}};
  d.state = "firing";
  d.sli = Sli::kCostUsd;
  d.value = 2;
  d.threshold = 1.5;
  d.op = ">";
  d.active_since_ms = 1'000'000;
  d.fired_at_ms = 1'000'000;
  d.history = {1.0, 2.0};
  d.history_step = Millis(60'000);
  const std::string html = RenderAlertPage(d, 1'000'000 + 6 * 60'000);
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<b>too much")));
  EXPECT_THAT(html, Not(HasSubstr("href=\"javascript")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("firing for 6 min"));
  EXPECT_THAT(html, HasSubstr("$2.00"));
  EXPECT_THAT(html, HasSubstr("threshold $1.50"));
}

TEST(PagesTest, AlertPageDrawsABurnRateAgainstItsThresholdInMultiples) {
  AlertPageData d;
  d.fingerprint = "01";
  d.name = "accuracy";
  d.state = "firing";
  d.sli = Sli::kOverrideRate;
  d.unit = AlertPageData::Unit::kTimes;
  d.figure = "burn rate over 1h";
  d.value = 18;
  d.threshold = 14.4;
  d.op = ">";
  d.threshold_name = "burn-rate threshold";
  d.threshold_note = "page tier";
  d.history = {std::nullopt, 6.0, 18.0};
  d.history_step = Millis(60'000);
  const std::string html = RenderAlertPage(d, 1'000'000);
  // In multiples, not in the SLI's percent.
  EXPECT_THAT(html, HasSubstr("18\u00d7"));
  EXPECT_THAT(html, Not(HasSubstr("1800")));
  EXPECT_THAT(html, HasSubstr("<title>burn-rate threshold 14.4\u00d7</title>"));
  EXPECT_THAT(html, HasSubstr(">18\u00d7</text>")) << "scale top: the largest point";
  EXPECT_THAT(html, HasSubstr(">6\u00d7</text>")) << "scale bottom: the least point";
  EXPECT_THAT(html, HasSubstr("Blue: burn rate over 1h."));
  EXPECT_THAT(html, HasSubstr("Dashed red: the burn-rate threshold (&gt; 14.4\u00d7; page tier)."));

  // Without a threshold the chart has no threshold line and no legend for it.
  d.threshold.reset();
  const std::string bare = RenderAlertPage(d, 1'000'000);
  EXPECT_THAT(bare, Not(HasSubstr("class=\"threshold\"")));
  EXPECT_THAT(bare, Not(HasSubstr("Dashed red")));
}

TEST(PagesTest, SloTierNoteWordsTheTierFacts) {
  // Percent of the budget, the period as written, the window as a duration.
  EXPECT_EQ(SloTierNote("ticket", 0.1, "30d", Millis(3 * 86'400'000LL)),
            "ticket tier: 10% of the 30d error budget in 3d");
  EXPECT_EQ(SloTierNote("page", 0.02, "28d", Millis(3'600'000)),
            "page tier: 2% of the 28d error budget in 1h");
}

TEST(PagesTest, SilencesSectionListsActiveOnesAndIsOutWithoutData) {
  EXPECT_EQ(SilencesSection(nullptr, 0), "");
  const nlohmann::json silences = {
      {"silences",
       {{{"id", "s1"},
         {"matchers",
          {{{"name", "agent"}, {"value", "<ir>"}, {"isRegex", false}, {"isEqual", true}}}},
         {"startsAt", "2026-11-30T00:00:00Z"},
         {"endsAt", "2026-11-30T02:00:00Z"},
         {"createdBy", "alice"},
         {"comment", "deploy"},
         {"status", "active"}},
        {{"id", "s2"},
         {"matchers", nlohmann::json::array()},
         {"endsAt", "2026-11-29T00:00:00Z"},
         {"createdBy", "bob"},
         {"comment", "old"},
         {"status", "expired"}}}}};
  const std::string html = SilencesSection(silences, 0);
  EXPECT_THAT(html, HasSubstr("agent=&quot;&lt;ir&gt;&quot;"));
  EXPECT_THAT(html, HasSubstr("alice"));
  EXPECT_THAT(html, Not(HasSubstr("bob")));
}

}  // namespace
}  // namespace aw::server
