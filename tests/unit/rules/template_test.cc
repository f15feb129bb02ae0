#include "rules/template.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace aw::rules {
namespace {

std::string Render(const std::string& text, const Labels& labels, double value) {
  auto t = Template::Parse(text);
  EXPECT_TRUE(t.ok()) << t.status().message();
  if (!t.ok()) return "<parse error>";
  return (*t)->Render(labels, value);
}

std::string ParseError(const std::string& text) {
  auto t = Template::Parse(text);
  EXPECT_FALSE(t.ok()) << text;
  return t.ok() ? "" : t.status().message();
}

TEST(FormatValueTest, MatchesGoShortestG) {
  EXPECT_EQ(FormatValue(40), "40");
  EXPECT_EQ(FormatValue(0.05), "0.05");
  EXPECT_EQ(FormatValue(1.5e6), "1.5e+06");
  EXPECT_EQ(FormatValue(1e6), "1e+06");
  EXPECT_EQ(FormatValue(100000), "100000");
  EXPECT_EQ(FormatValue(123456.7), "123456.7");
  EXPECT_EQ(FormatValue(0.0001), "0.0001");
  EXPECT_EQ(FormatValue(0.00001), "1e-05");
  EXPECT_EQ(FormatValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatValue(-31), "-31");
  EXPECT_EQ(FormatValue(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(FormatValue(1e21), "1e+21");
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(HumanizeTest, PrometheusOutputs) {
  EXPECT_EQ(Humanize(0), "0");
  EXPECT_EQ(Humanize(1), "1");
  EXPECT_EQ(Humanize(999), "999");
  EXPECT_EQ(Humanize(1234), "1.234k");
  EXPECT_EQ(Humanize(1500000), "1.5M");
  EXPECT_EQ(Humanize(2.5e9), "2.5G");
  EXPECT_EQ(Humanize(0.025), "25m");
  EXPECT_EQ(Humanize(0.000001), "1u");
  EXPECT_EQ(Humanize(-1234), "-1.234k");
  EXPECT_EQ(Humanize(12345678), "12.35M");
  EXPECT_EQ(Humanize1024(1024), "1ki");
  EXPECT_EQ(Humanize1024(1536 * 1024), "1.5Mi");
  EXPECT_EQ(Humanize1024(0.5), "0.5");
  EXPECT_EQ(HumanizePercentage(0.05), "5%");
  EXPECT_EQ(HumanizePercentage(0.123456), "12.35%");
  EXPECT_EQ(HumanizePercentage(1), "100%");
  EXPECT_EQ(HumanizeDuration(3723), "1h 2m 3s");
  EXPECT_EQ(HumanizeDuration(90061), "1d 1h 1m 1s");
  EXPECT_EQ(HumanizeDuration(61), "1m 1s");
  EXPECT_EQ(HumanizeDuration(1.5), "1.5s");
  EXPECT_EQ(HumanizeDuration(0), "0s");
  EXPECT_EQ(HumanizeDuration(0.25), "250ms");
  EXPECT_EQ(HumanizeDuration(-3723), "-1h 2m 3s");
  EXPECT_EQ(FormatG4(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(TemplateTest, RendersLabelsAndValue) {
  const Labels labels = {{"agent", "ir"}, {"env", "prod"}};
  EXPECT_EQ(Render("{{ $labels.agent }} overrides {{ $value | "
                   "humanizePercentage }} of diagnoses",
                   labels, 0.07),
            "ir overrides 7% of diagnoses");
  EXPECT_EQ(Render("value={{ $value }}", labels, 1.5e6), "value=1.5e+06");
  EXPECT_EQ(Render("{{ humanize $value }}", labels, 1234), "1.234k");
  EXPECT_EQ(Render("{{humanizeDuration $value}}", labels, 3723), "1h 2m 3s");
  EXPECT_EQ(Render("{{ .Labels.env }}/{{ .Value }}", labels, 3), "prod/3");
  EXPECT_EQ(Render("[{{ $labels.missing }}]", labels, 0), "[]");
  EXPECT_EQ(Render("no actions", labels, 0), "no actions");
  EXPECT_EQ(Render("", labels, 0), "");
}

TEST(TemplateTest, PipelinesPrintfAndStringFunctions) {
  const Labels labels = {{"agent", "incident-response"}};
  EXPECT_EQ(Render("{{ $labels.agent | toUpper }}", labels, 0), "INCIDENT-RESPONSE");
  EXPECT_EQ(Render("{{ title $labels.agent }}", labels, 0), "Incident-Response");
  EXPECT_EQ(Render("{{ printf \"%.2f\" $value }}", labels, 0.12345), "0.12");
  EXPECT_EQ(Render("{{ $value | printf \"%.1f%%\" }}", labels, 12.34), "12.3%");
  EXPECT_EQ(Render("{{ \"lit\" }}", labels, 0), "lit");
  EXPECT_EQ(Render("a  {{- $value -}}  b", labels, 5), "a5b");
  EXPECT_EQ(Render("x{{/* comment */}}y", labels, 5), "xy");
  EXPECT_EQ(Render("{{ \"}}\" }}", labels, 0), "}}");
}

TEST(TemplateTest, ParseErrorsNameTheProblem) {
  EXPECT_NE(ParseError("{{ $value").find("unclosed"), std::string::npos);
  EXPECT_NE(ParseError("{{ humanise $value }}").find("function \"humanise\" not defined"),
            std::string::npos);
  EXPECT_NE(ParseError("{{ $foo }}").find("unsupported variable \"$foo\""), std::string::npos);
  EXPECT_NE(ParseError("{{ humanize }}").find("wrong number of args for humanize"),
            std::string::npos);
  EXPECT_NE(ParseError("{{ $value | }}").find("missing command"), std::string::npos);
  EXPECT_NE(ParseError("{{ }}").find("empty action"), std::string::npos);
  EXPECT_NE(ParseError("{{ printf \"%d\" $value }}").find("unsupported format"), std::string::npos);
  EXPECT_NE(ParseError("{{ printf \"%f %f\" $value }}").find("2 verbs for 1 args"),
            std::string::npos);
  EXPECT_NE(ParseError("{{ $value $value }}").find("unexpected operand"), std::string::npos);
  EXPECT_NE(ParseError("{{ if $value }}x{{ end }}").find("function \"if\" not defined"),
            std::string::npos);
}

TEST(FormatLabelsTest, SortedAndEscaped) {
  EXPECT_EQ(FormatLabels({{"agent", "ir"}}), "{agent=\"ir\"}");
  EXPECT_EQ(FormatLabels({{"b", "x\"y"}, {"a", "1\\2"}}), "{a=\"1\\\\2\", b=\"x\\\"y\"}");
  EXPECT_EQ(FormatLabels({}), "{}");
}

}  // namespace
}  // namespace aw::rules
