#include "daemon/common/status.h"

#include <string>

#include <gtest/gtest.h>

#include "daemon/common/parse.h"

namespace aw {
namespace {

TEST(ResultTest, AValueIsOk) {
  Result<int> r(7);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(*r, 7);
}

TEST(ResultTest, AnErrorKeepsItsCodeAndMessage) {
  Result<int> r(Status::NotFound("agent: no such agent"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r.status().message(), "agent: no such agent");
}

TEST(ResultTest, AnOkStatusWithoutAValueIsAnInternalErrorNotASilentSuccess) {
  Result<std::string> r(Status::Ok());
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.status().ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInternal);
}

TEST(ParseWholeIntTest, AcceptsOnlyAWholeDecimalInteger) {
  EXPECT_EQ(ParseWholeInt("9464"), 9464);
  EXPECT_EQ(ParseWholeInt("-5"), -5);
  EXPECT_EQ(ParseWholeInt("0"), 0);
  for (const char* bad : {"", " 1", "1 ", "+1", "1x", "0x10", "1.5", "99999999999999999999"}) {
    EXPECT_FALSE(ParseWholeInt(bad).has_value()) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace aw
