#include "exporters/model_label_cap.h"

#include <gtest/gtest.h>

#include <set>

#include "exporters/daemon_metrics.h"

namespace aw::exporters {
namespace {

TEST(ModelLabelCapTest, FoldsModelsBeyondTheCapIntoOther) {
  ModelLabelCap cap(2);
  int64_t folded = 0;
  EXPECT_EQ(cap.Label("a", &folded), "a");
  EXPECT_EQ(cap.Label("b", &folded), "b");
  EXPECT_EQ(cap.Label("c", &folded), "other");
  EXPECT_EQ(cap.Label("a", &folded), "a");  // admitted names stay
  EXPECT_EQ(cap.Label("", &folded), "");
  EXPECT_EQ(folded, 1);
  cap.SetMax(3);
  EXPECT_EQ(cap.Label("c", &folded), "c");
  EXPECT_EQ(cap.admitted(), 3u);
}

// 1,000 distinct models through the daemon's metrics: the model label takes
// at most max_models + 1 values, and the folded spans are counted.
TEST(ModelLabelCapTest, DaemonMetricsSeriesStayBounded) {
  DaemonMetrics metrics("test");
  metrics.SetMaxModels(10);
  std::vector<Span> spans;
  for (int i = 0; i < 1000; ++i) {
    Span s;
    s.investigation_id = std::to_string(i);
    s.agent = "ir";
    if (i % 2 == 0) {
      s.model = "model-" + std::to_string(i);
    } else {
      s.response_model = "model-" + std::to_string(i);
    }
    s.input_tokens = 10;
    spans.push_back(std::move(s));
  }
  metrics.CountSpans(spans, Pricing{});
  std::set<std::string> models;
  double folded = -1;
  for (const auto& family : metrics.registry().Collect()) {
    for (const auto& m : family.metric) {
      for (const auto& l : m.label) {
        if (l.name == "model") models.insert(l.value);
      }
      if (family.name == "agentwatch_model_labels_folded_total") folded = m.counter.value;
    }
  }
  EXPECT_EQ(models.size(), 11u);
  EXPECT_TRUE(models.count("other"));
  EXPECT_EQ(folded, 990);
}

}  // namespace
}  // namespace aw::exporters
