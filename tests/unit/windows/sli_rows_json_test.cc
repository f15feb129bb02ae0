// AppendSliRowsJson streams the same bytes a json DOM of the rows dumps.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "exporters/sli_collector.h"

namespace aw::exporters {
namespace {

using json = nlohmann::json;

TEST(SliRowsJsonTest, StreamsTheBytesOfTheDom) {
  std::vector<windows::SliRow> rows(3);
  rows[0] = {"ir", {}, Sli::kInvestigations, "1h", Stat::kNone, 3.0, 3};
  rows[1] = {"tri\"age\n",
             {{"env", "pr\\od"}, {"team", "ü"}},
             Sli::kToolCalls,
             "100 investigations",
             Stat::kP95,
             0.1 + 0.2,
             7};
  rows[2] = {
      "x", {{"finish_reason", "max_tokens"}}, Sli::kOverrideRate, "7d", Stat::kNone, std::nullopt,
      0};
  json dom = json::array();
  for (const auto& r : rows) {
    dom.push_back({{"agent", r.agent},
                   {"labels", r.labels},
                   {"sli", SliName(r.sli)},
                   {"window", r.window},
                   {"stat", StatName(r.stat)},
                   {"value", r.value ? json(*r.value) : json(nullptr)},
                   {"samples", r.samples}});
  }
  std::string streamed = "[";
  bool first = true;
  AppendSliRowsJson({rows[0]}, streamed, &first);
  AppendSliRowsJson({rows[1], rows[2]}, streamed, &first);
  streamed += "]";
  EXPECT_EQ(streamed, dom.dump());

  std::string none = "[";
  bool first_none = true;
  AppendSliRowsJson({}, none, &first_none);
  EXPECT_EQ(none + "]", json::array().dump());
  EXPECT_TRUE(first_none);
}

}  // namespace
}  // namespace aw::exporters
