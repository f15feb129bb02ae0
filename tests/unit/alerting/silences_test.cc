#include "alerting/silences.h"

#include <gtest/gtest.h>

#include "alerting/payloads.h"

#include "daemon/common/clock.h"
#include "daemon/common/time_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/unit/alerting/test_util.h"

namespace aw::alerting {
namespace {

constexpr TimeMs kHour = 3600 * 1000;

CompiledMatcher M(const std::string& name, const std::string& value, bool regex, bool equal) {
  auto m = CompiledMatcher::Compile({name, value, regex, equal});
  EXPECT_TRUE(m.ok()) << m.status().message();
  return std::move(m).value();
}

const Labels kAlert = {{"alertname", "CostSpike"}, {"agent", "ir"}, {"severity", "page"}};

TEST(SilenceMatcherTest, Equal) {
  EXPECT_TRUE(M("agent", "ir", false, true).Matches(kAlert));
  EXPECT_FALSE(M("agent", "cost", false, true).Matches(kAlert));
  EXPECT_FALSE(M("agent", "i", false, true).Matches(kAlert));  // no prefix match
  // A label the alert lacks reads as "".
  EXPECT_FALSE(M("team", "sre", false, true).Matches(kAlert));
  EXPECT_TRUE(M("team", "", false, true).Matches(kAlert));
}

TEST(SilenceMatcherTest, NotEqual) {
  EXPECT_FALSE(M("agent", "ir", false, false).Matches(kAlert));
  EXPECT_TRUE(M("agent", "cost", false, false).Matches(kAlert));
  EXPECT_TRUE(M("team", "sre", false, false).Matches(kAlert));
}

TEST(SilenceMatcherTest, RegexIsAnchored) {
  EXPECT_TRUE(M("alertname", "Cost.*", true, true).Matches(kAlert));
  EXPECT_TRUE(M("alertname", "Cost|Latency.*", true, true).Matches(Labels{{"alertname", "Cost"}}));
  EXPECT_FALSE(M("alertname", "Cost", true, true).Matches(kAlert));   // whole value
  EXPECT_FALSE(M("alertname", "Spike", true, true).Matches(kAlert));  // not a search
  EXPECT_TRUE(M("severity", "page|ticket", true, true).Matches(kAlert));
  EXPECT_TRUE(M("team", ".*", true, true).Matches(kAlert));
}

TEST(SilenceMatcherTest, NegativeRegex) {
  EXPECT_FALSE(M("alertname", "Cost.*", true, false).Matches(kAlert));
  EXPECT_TRUE(M("alertname", "Latency.*", true, false).Matches(kAlert));
  EXPECT_TRUE(M("alertname", "Cost", true, false).Matches(kAlert));  // anchored: no match
}

TEST(SilenceMatcherTest, BadRegexIsAnError) {
  auto m = CompiledMatcher::Compile({"agent", "(unclosed", true, true});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("regular expression"), std::string::npos);
}

// Label values are chosen by agents: a regex whose backtracking is
// exponential on them (std::regex took minutes on this one and stalled
// evaluation) must still answer, as RE2 does in linear time.
TEST(SilenceMatcherTest, PathologicalRegexAnswersOnHostileValues) {
  const std::string hostile = std::string(41, 'a') + "b";
  EXPECT_FALSE(M("agent", "(a|aa)+", true, true).Matches(Labels{{"agent", hostile}}));
  EXPECT_TRUE(M("agent", "(a|aa)+b", true, true).Matches(Labels{{"agent", hostile}}));
  EXPECT_FALSE(
      M("agent", "((a+)+)+c", true, true).Matches(Labels{{"agent", std::string(5000, 'a')}}));
}

// RE2 syntax, as Alertmanager's: Perl classes and flags; no backreferences.
TEST(SilenceMatcherTest, Re2Syntax) {
  EXPECT_TRUE(M("agent", "(?i)IR-\\d+", true, true).Matches(Labels{{"agent", "ir-42"}}));
  EXPECT_FALSE(CompiledMatcher::Compile({"agent", "(a)\\1", true, true}).ok());
}

TEST(SilenceMatcherTest, AllMatchersMustMatch) {
  std::vector<CompiledMatcher> both = {M("agent", "ir", false, true),
                                       M("severity", "page", false, true)};
  EXPECT_TRUE(MatchesAll(both, kAlert));
  both.push_back(M("alertname", "Latency.*", true, true));
  EXPECT_FALSE(MatchesAll(both, kAlert));
  EXPECT_FALSE(MatchesAll({}, kAlert));
}

TEST(SilenceStatusTest, PendingActiveExpiredFromTheClock) {
  FakeClock clock;
  Silence s;
  s.id = "s1";
  s.matchers = {{"agent", "ir", false, true}};
  s.starts_at_ms = clock.NowMs() + kHour;
  s.ends_at_ms = clock.NowMs() + 3 * kHour;
  Silences silences;
  ASSERT_TRUE(silences.Put(s).ok());

  EXPECT_EQ(StatusAt(s, clock.NowMs()), SilenceStatus::kPending);
  EXPECT_TRUE(silences.Matching(kAlert, clock.NowMs()).empty());
  EXPECT_STREQ(SilenceStatusName(StatusAt(s, clock.NowMs())), "pending");

  clock.Advance(Millis(kHour));  // startsAt: active
  EXPECT_EQ(StatusAt(s, clock.NowMs()), SilenceStatus::kActive);
  EXPECT_EQ(silences.Matching(kAlert, clock.NowMs()), std::vector<std::string>{"s1"});
  EXPECT_TRUE(silences.Matching(Labels{{"agent", "cost"}}, clock.NowMs()).empty());
  EXPECT_STREQ(SilenceStatusName(StatusAt(s, clock.NowMs())), "active");

  clock.Advance(Millis(2 * kHour - 1));
  EXPECT_EQ(StatusAt(s, clock.NowMs()), SilenceStatus::kActive);
  clock.Advance(Millis(1));  // endsAt: expired
  EXPECT_EQ(StatusAt(s, clock.NowMs()), SilenceStatus::kExpired);
  EXPECT_TRUE(silences.Matching(kAlert, clock.NowMs()).empty());
  EXPECT_STREQ(SilenceStatusName(StatusAt(s, clock.NowMs())), "expired");
}

TEST(SilencesTest, PutReplacesByIdAndListsAll) {
  const TimeMs now = 1'764'000'000'000;
  Silences silences;
  Silence a{"a", {{"agent", "ir", false, true}}, now, now + kHour, "alice", "deploy", now};
  Silence b{"b", {{"agent", "i.*", true, true}}, now, now + kHour, "bob", "", now};
  ASSERT_TRUE(silences.Put(a).ok());
  ASSERT_TRUE(silences.Put(b).ok());
  EXPECT_EQ(silences.Matching(kAlert, now), (std::vector<std::string>{"a", "b"}));
  a.ends_at_ms = now;  // expired by replacing it
  ASSERT_TRUE(silences.Put(a).ok());
  EXPECT_EQ(silences.Matching(kAlert, now), std::vector<std::string>{"b"});
  EXPECT_EQ(silences.List().size(), 2u);
  EXPECT_EQ(silences.Get("a")->ends_at_ms, now);
  EXPECT_FALSE(silences.Get("zzz").has_value());
}

TEST(ParseSilenceRequestTest, ReadsAlertmanagerShape) {
  const TimeMs now = *ParseRfc3339("2026-11-30T10:00:00Z");
  auto s = ParseSilenceRequest(
      R"({"matchers":[{"name":"agent","value":"ir","isRegex":false,"isEqual":true},
                      {"name":"alertname","value":"Cost.*","isRegex":true}],
          "startsAt":"2026-11-30T11:00:00Z","endsAt":"2026-11-30T13:00:00Z",
          "createdBy":"alice","comment":"deploy","extra":1})",
      now);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->matchers.size(), 2u);
  EXPECT_TRUE(s->matchers[1].is_regex);
  EXPECT_TRUE(s->matchers[1].is_equal);  // default
  EXPECT_EQ(s->starts_at_ms, now + kHour);
  EXPECT_EQ(s->ends_at_ms, now + 3 * kHour);
  EXPECT_EQ(s->created_by, "alice");
  EXPECT_EQ(s->comment, "deploy");

  // startsAt absent: now.
  s = ParseSilenceRequest(
      R"({"matchers":[{"name":"agent","value":"ir"}],"endsAt":"2026-11-30T12:00:00Z"})", now);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->starts_at_ms, now);
}

TEST(ParseSilenceRequestTest, ErrorsNameTheField) {
  const TimeMs now = *ParseRfc3339("2026-11-30T10:00:00Z");
  const std::string ends = R"("endsAt":"2026-11-30T12:00:00Z")";
  const std::pair<std::string, std::string> cases[] = {
      {"{", "body"},
      {"{" + ends + "}", "matchers"},
      {R"({"matchers":[],)" + ends + "}", "matchers"},
      {R"({"matchers":[{"value":"ir"}],)" + ends + "}", "matchers[0].name"},
      {R"({"matchers":[{"name":"agent"}],)" + ends + "}", "matchers[0].value"},
      {R"({"matchers":[{"name":"a","value":"x"},{"name":"b","value":"(","isRegex":true}],)" + ends +
           "}",
       "matchers[1].value"},
      {R"({"matchers":[{"name":"a","value":"x","isRegex":"yes"}],)" + ends + "}",
       "matchers[0].isRegex"},
      {R"({"matchers":[{"name":"a","value":".*","isRegex":true}],)" + ends + "}", "matchers"},
      {R"({"matchers":[{"name":"a","value":"x"}]})", "endsAt"},
      {R"({"matchers":[{"name":"a","value":"x"}],"endsAt":"tomorrow"})", "endsAt"},
      {R"({"matchers":[{"name":"a","value":"x"}],"endsAt":"2026-11-30T09:00:00Z"})", "endsAt"},
      {R"({"matchers":[{"name":"a","value":"x"}],"startsAt":"2026-11-30T12:00:00Z",)" + ends + "}",
       "endsAt"},
      {R"({"matchers":[{"name":"a","value":"x"}],"startsAt":5,)" + ends + "}", "startsAt"},
      {R"({"matchers":[{"name":"a","value":"x"}],"createdBy":7,)" + ends + "}", "createdBy"},
  };
  for (const auto& [body, field] : cases) {
    auto s = ParseSilenceRequest(body, now);
    ASSERT_FALSE(s.ok()) << body;
    EXPECT_EQ(s.status().message().rfind(field + ":", 0), 0u)
        << body << " -> " << s.status().message();
  }
}

TEST(SilenceIdTest, UuidShapedAndDistinct) {
  const std::string a = NewSilenceId(), b = NewSilenceId();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[8], '-');
  EXPECT_EQ(a[14], '4');
}

TEST(SlackSilenceButtonTest, FiringMessagesCarryTheButtonResolvesDoNot) {
  AlertEvent e;
  e.name = "CostSpike";
  e.labels = kAlert;
  e.fingerprint = "9f2c0a11b2c3d4e5";
  const nlohmann::json m = test::Json(BuildSlackMessage(e, {}));
  ASSERT_TRUE(m.contains("attachments")) << m.dump();
  const auto& blocks = m["attachments"][0]["blocks"];
  ASSERT_GE(blocks.size(), 2u) << m.dump();
  // The alert's own layout comes first; the silence button goes last.
  EXPECT_EQ(blocks[0]["type"], "header");
  const auto& last = blocks[blocks.size() - 1];
  EXPECT_EQ(last["type"], "actions");
  const auto& button = last["elements"][0];
  EXPECT_EQ(button["type"], "button");
  EXPECT_EQ(button["action_id"], kSlackSilenceActionId);
  EXPECT_EQ(button["value"], e.fingerprint);
  EXPECT_EQ(button["text"]["text"], "Silence 1h");

  e.resolved = true;
  const nlohmann::json resolved = test::Json(BuildSlackMessage(e, {}));
  for (const auto& block : resolved["attachments"][0]["blocks"]) {
    if (block["type"] == "actions") {
      for (const auto& el : block["elements"])
        EXPECT_NE(el.value("action_id", ""), kSlackSilenceActionId);
    }
  }

  // A message without blocks gets its text as a section, then the button.
  e.resolved = false;
  const nlohmann::json plain = test::Json(AddSlackSilenceButton(e, R"({"text":"t"})"));
  ASSERT_EQ(plain["blocks"].size(), 2u);
  EXPECT_EQ(plain["blocks"][0]["text"]["text"], "t");
  EXPECT_EQ(plain["blocks"][1]["type"], "actions");

  // Blocks built by someone else are kept; the actions block goes last.
  e.resolved = false;
  const nlohmann::json custom =
      test::Json(AddSlackSilenceButton(e, R"({"text":"t","blocks":[{"type":"header"}]})"));
  ASSERT_EQ(custom["blocks"].size(), 2u);
  EXPECT_EQ(custom["blocks"][0]["type"], "header");
  EXPECT_EQ(custom["blocks"][1]["type"], "actions");
}

}  // namespace
}  // namespace aw::alerting
