// One test per input a fuzz target (fuzz/) found to crash, or that directed
// seeds showed to be undefined behaviour; each input is
// also in the target's seed corpus (fuzz/corpus/<target>/). Run under
// `make sanitize` these fail loudly if the bug comes back; in a plain
// build they check the reply.

#include <gtest/gtest.h>

#include "rules/template.h"

#include <fstream>
#include <string>

#include "daemon/config/config.h"
#include "daemon/ingest/parser.h"
#include "daemon/ingest/webhooks.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

Result<Config> LoadText(const std::string& yaml) {
  testing::TempDir dir;
  return LoadConfig(dir.Write("agentwatch.yaml", yaml));
}

// fuzz_config_loader: "max_body_bytes: 1099511627776GiB" multiplied
// 2^40 by 2^30 in int64 (signed overflow; UBSan: config.cc Bytes()).
TEST(FuzzRegressionTest, ConfigByteSizeOverflowIsAnError) {
  for (const char* size :
       {"1099511627776GiB", "1099511627776MiB", "1099511627776KiB", "1099511627776MB", "2000GiB"}) {
    auto c = LoadText(std::string("limits: {max_body_bytes: ") + size + "}\n");
    ASSERT_FALSE(c.ok()) << size;
    EXPECT_NE(c.status().message().find("limits.max_body_bytes: too large"), std::string::npos)
        << c.status().message();
  }
  auto ok = LoadText("limits: {max_body_bytes: 1024GiB}\n");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->limits.max_body_bytes, int64_t{1} << 40);
}

// fuzz_webhooks (found while writing the target, before the first run):
// a PagerDuty id / Slack button value nested a million deep was copied,
// and copying a nlohmann::json recurses once per level: a stack overflow
// from one 2 MB request.
TEST(FuzzRegressionTest, DeeplyNestedWebhookValuesDoNotRecurse) {
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  ingest::ParseOptions opts;
  opts.now_ms = 1'764'000'000'000;
  auto pd = ingest::ParsePagerDutyWebhook(
      R"({"event":{"event_type":"incident.resolved","occurred_at":"2025-11-24T15:00:00Z","data":{"id":)" +
          deep + "}}}",
      opts);
  ASSERT_FALSE(pd.ok());
  EXPECT_EQ(pd.status().message(), "event.data.id: must be a string");
  const std::string value = "{\"investigation_id\":" + deep + ",\"verdict\":\"confirm\"}";
  auto fb = ingest::ParseSlackActionValue(value, opts);
  ASSERT_TRUE(fb.has_value());
  ASSERT_FALSE(fb->ok());
  EXPECT_EQ(fb->status().message(), "investigation_id: must be a string");
}

// The ingest parsers on the same shape: parsed without recursion (nlohmann's
// parser keeps its own stack) and rejected by type.
TEST(FuzzRegressionTest, DeeplyNestedIngestBodiesAreRejected) {
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  ingest::ParseOptions opts;
  opts.now_ms = 1'764'000'000'000;
  auto spans = ingest::ParseSpans(deep, ingest::BodyFormat::kJson, opts);
  EXPECT_TRUE(spans.records.empty());
  ASSERT_EQ(spans.errors.size(), 1u);
  auto labels = ingest::ParseSpans(R"({"investigation_id":"a","agent":"ir","labels":)" + deep + "}",
                                   ingest::BodyFormat::kJson, opts);
  ASSERT_EQ(labels.errors.size(), 1u);
  // Refused by a scan before any parser builds the nesting (a few MiB of
  // brackets took hundreds of MiB), naming the field it starts in.
  EXPECT_EQ(labels.errors[0].error,
            "body: malformed JSON at byte 78, in "
            "\"labels[0][0][0][0][0][0][0][0][0][0][0][0][0][0]...\": "
            "nested deeper than 32 levels");
}

TEST(FuzzRegressionTest, HumanizeDurationOfAHugeValueIsDefined) {
  // fuzz/corpus/fuzz_template/regression_humanize_duration_huge
  EXPECT_EQ(aw::rules::HumanizeDuration(7.36e223), "7.36e+223s");
  EXPECT_EQ(aw::rules::HumanizeDuration(-7.36e223), "-7.36e+223s");
}

TEST(FuzzRegressionTest, PrintfFormatWithANulIsALoadError) {
  // fuzz/corpus/fuzz_template/regression_printf_nul
  const std::string text = std::string("{{ printf \"%.2") + '\0' + "f\" $value }}";
  EXPECT_FALSE(aw::rules::Template::Parse(text).ok());
}

TEST(FuzzRegressionTest, PrintfWidthAndPrecisionAreBounded) {
  // fuzz/corpus/fuzz_template/regression_printf_huge_precision
  EXPECT_FALSE(aw::rules::Template::Parse("{{ printf \"%.349144356f\" $value }}").ok());
  EXPECT_FALSE(aw::rules::Template::Parse("{{ printf \"%999f\" $value }}").ok());
  auto ok = aw::rules::Template::Parse("{{ printf \"%8.2f\" $value }}");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)->Render({}, 3.14159), "    3.14");
}

}  // namespace
}  // namespace aw
