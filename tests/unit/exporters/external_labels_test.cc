#include "exporters/external_labels.h"

#include <gtest/gtest.h>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <string>

namespace aw::exporters {
namespace {

std::string Serialized(const std::map<std::string, std::string>& labels) {
  prometheus::Registry registry;
  prometheus::BuildCounter()
      .Name("t_total")
      .Help("h")
      .Register(registry)
      .Add({{"agent", "ir"}})
      .Increment(2);
  prometheus::BuildGauge().Name("t_gauge").Help("h").Register(registry).Add({}).Set(1);
  // A series that already has the label keeps its own value.
  prometheus::BuildGauge()
      .Name("t_own")
      .Help("h")
      .Register(registry)
      .Add({{"replica", "mine"}})
      .Set(3);
  auto families = registry.Collect();
  AddExternalLabels(families, labels);
  return prometheus::TextSerializer().Serialize(families);
}

TEST(ExternalLabelsTest, EverySeriesCarriesThem) {
  const std::string text = Serialized({{"replica", "a"}, {"region", "eu"}});
  int series = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    ++series;
    EXPECT_NE(line.find("region=\"eu\""), std::string::npos) << line;
    if (line.rfind("t_own", 0) == 0) {
      EXPECT_NE(line.find("replica=\"mine\""), std::string::npos) << line;
      EXPECT_EQ(line.find("replica=\"a\""), std::string::npos) << line;
    } else {
      EXPECT_NE(line.find("replica=\"a\""), std::string::npos) << line;
    }
  }
  EXPECT_EQ(series, 3);
  EXPECT_NE(text.find("t_total{agent=\"ir\","), std::string::npos) << text;
}

TEST(ExternalLabelsTest, NoneLeavesTheOutputAlone) {
  EXPECT_EQ(Serialized({}).find("replica=\"a\""), std::string::npos);
  EXPECT_EQ(Serialized({}).find("region"), std::string::npos);
}

}  // namespace
}  // namespace aw::exporters
