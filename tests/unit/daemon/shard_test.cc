#include "daemon/config/shard.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "daemon/config/config.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

// Published FNV-1a 64-bit test vectors (the FNV reference test suite).
const std::map<std::string, uint64_t> kVectors = {
    {"", 0xcbf29ce484222325ULL},
    {"a", 0xaf63dc4c8601ec8cULL},
    {"foobar", 0x85944171f73967e8ULL},
};

TEST(ShardTest, HashIsFnv1a64) {
  for (const auto& [text, want] : kVectors) EXPECT_EQ(Fnv1a64(text), want) << text;
}

TEST(ShardTest, HashShardingOwnsHashModCount) {
  for (int64_t count : {2, 3, 5}) {
    for (int64_t index = 0; index < count; ++index) {
      ShardMap shard(ShardSpec{{}, count, index, {}});
      for (const auto& [text, hash] : kVectors) {
        const int64_t owner = static_cast<int64_t>(hash % static_cast<uint64_t>(count));
        EXPECT_EQ(shard.OwnerIndex(text), owner);
        EXPECT_EQ(shard.Owns(text), owner == index) << text << " " << count << "/" << index;
      }
    }
  }
}

TEST(ShardTest, EveryAgentHasExactlyOneOwner) {
  const int64_t count = 4;
  for (int i = 0; i < 200; ++i) {
    const std::string agent = "agent-" + std::to_string(i);
    int owners = 0;
    for (int64_t index = 0; index < count; ++index) {
      owners += ShardMap(ShardSpec{{}, count, index, {}}).Owns(agent) ? 1 : 0;
    }
    EXPECT_EQ(owners, 1) << agent;
  }
}

TEST(ShardTest, AgentListOwnsExactlyItsAgents) {
  ShardMap shard(ShardSpec{{"ir", "cost-bot"}, 0, 0, {}});
  EXPECT_TRUE(shard.Owns("ir"));
  EXPECT_TRUE(shard.Owns("cost-bot"));
  EXPECT_FALSE(shard.Owns("release-validator"));
  EXPECT_FALSE(shard.Owns("i"));
  EXPECT_EQ(shard.Misdirected("ir"), "");
  EXPECT_NE(shard.Misdirected("release-validator").find("agent: \"release-validator\""),
            std::string::npos);
}

TEST(ShardTest, UnsetOwnsEverything) {
  ShardMap shard;
  EXPECT_FALSE(shard.enabled());
  EXPECT_TRUE(shard.Owns("anything"));
  EXPECT_EQ(shard.Misdirected("anything"), "");
}

TEST(ShardTest, MisdirectedNamesTheOwnerAndItsUrl) {
  // "a" hashes to 0xaf63dc4c8601ec8c, which is 1 mod 3.
  ASSERT_EQ(kVectors.at("a") % 3, 1u);
  ShardMap shard(ShardSpec{{}, 3, 0, {"http://x:9464", "http://y:9464", "http://z:9464"}});
  EXPECT_EQ(shard.Misdirected("a"),
            "agent: \"a\" is served by shard 1 (http://y:9464), this is shard 0 of 3");
  ShardMap no_peers(ShardSpec{{}, 3, 0, {}});
  EXPECT_EQ(no_peers.Misdirected("a"), "agent: \"a\" is served by shard 1, this is shard 0 of 3");
  EXPECT_EQ(ShardMap(ShardSpec{{}, 3, 1, {}}).Misdirected("a"), "");
}

class ShardConfigTest : public ::testing::Test {
 protected:
  Result<Config> Load(const std::string& yaml) {
    return LoadConfig(dir_.Write("agentwatch.yaml", yaml));
  }
  std::string ErrorOf(const std::string& yaml) {
    auto c = Load(yaml);
    EXPECT_FALSE(c.ok()) << "expected an error for:\n" << yaml;
    return c.ok() ? "" : c.status().message();
  }
  testing::TempDir dir_;
};

TEST_F(ShardConfigTest, LoadsHashShardingAndExternalLabels) {
  auto c = Load(
      "shard: {count: 3, index: 2, peers: [http://a:1, http://b:2, http://c:3]}\n"
      "external_labels: {replica: a, region: \"eu-west\"}\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->shard.count, 3);
  EXPECT_EQ(c->shard.index, 2);
  EXPECT_EQ(c->shard.peers.at(2), "http://c:3");
  EXPECT_EQ(c->external_labels.at("replica"), "a");
  EXPECT_EQ(c->external_labels.at("region"), "eu-west");
}

TEST_F(ShardConfigTest, DefaultsAreUnset) {
  auto c = Load("listen: 127.0.0.1:0\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->shard.enabled());
  EXPECT_TRUE(c->external_labels.empty());
}

TEST_F(ShardConfigTest, ErrorsNameTheField) {
  const std::map<std::string, std::string> cases = {
      {"shard: {count: 2, index: 2}\n", "shard.index"},
      {"shard: {count: 2, index: -1}\n", "shard.index"},
      {"shard: {count: 0, index: 0}\n", "shard.count"},
      {"shard: {count: 2}\n", "shard: needs"},
      {"shard: {agents: [a], count: 2, index: 0}\n", "not both"},
      {"shard: {agents: []}\n", "shard.agents"},
      {"shard: {count: 2, index: 0, peers: [http://a:1]}\n", "shard.peers"},
      {"shard: {count: 2, index: 0, peers: [a, b]}\n", "shard.peers"},
      {"shard: {count: 2, index: 0, owner: x}\n", "unknown key \"owner\""},
      {"external_labels: {1replica: a}\n", "external_labels: \"1replica\""},
      {"external_labels: {__replica: a}\n", "external_labels: \"__replica\""},
      {"external_labels: {re-plica: a}\n", "external_labels: \"re-plica\""},
      {"external_labels: [a]\n", "external_labels"},
  };
  for (const auto& [yaml, want] : cases) {
    const std::string error = ErrorOf(yaml);
    EXPECT_NE(error.find(want), std::string::npos) << yaml << " -> " << error;
    EXPECT_NE(error.find("agentwatch.yaml:1"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace aw
