#pragma once

// Builders for OTLP spans in tests.

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "daemon/otlp/otlp_types.h"
#include "tests/testing/fake_clock.h"

namespace aw::otlp::testing {

// 2025-11-24T16:00:00Z, the FakeClock's default start.
constexpr uint64_t kT0Ns = 1'764'000'000'000'000'000ULL;
constexpr int64_t kT0Ms = 1'764'000'000'000;

inline std::string TraceId(int n) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%032x", n);
  return buf;
}
inline std::string SpanId(int n) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016x", n);
  return buf;
}

class SpanBuilder {
 public:
  SpanBuilder(int trace, int id, int parent = 0) {
    span_.trace_id = TraceId(trace);
    span_.span_id = SpanId(id);
    if (parent) span_.parent_span_id = SpanId(parent);
    span_.name = "span";
    span_.start_ns = kT0Ns;
    span_.end_ns = kT0Ns + 1'000'000'000;
    span_.resource = std::make_shared<const Attributes>();
  }
  SpanBuilder& Attr(std::string key, AttrValue v) {
    span_.attributes.Add(std::move(key), std::move(v));
    return *this;
  }
  SpanBuilder& Str(std::string key, std::string v) { return Attr(std::move(key), std::move(v)); }
  SpanBuilder& Int(std::string key, int64_t v) { return Attr(std::move(key), v); }
  SpanBuilder& Times(uint64_t start_ms, uint64_t end_ms) {
    span_.start_ns = kT0Ns + start_ms * 1'000'000;
    span_.end_ns = kT0Ns + end_ms * 1'000'000;
    return *this;
  }
  SpanBuilder& Resource(Attributes r) {
    span_.resource = std::make_shared<const Attributes>(std::move(r));
    return *this;
  }
  // GenAI conventions.
  SpanBuilder& InvokeAgent(std::string name) {
    return Str("gen_ai.operation.name", "invoke_agent").Str("gen_ai.agent.name", std::move(name));
  }
  SpanBuilder& Tool(std::string name) {
    return Str("gen_ai.operation.name", "execute_tool").Str("gen_ai.tool.name", std::move(name));
  }
  SpanBuilder& Chat(int64_t in, int64_t out) {
    return Str("gen_ai.operation.name", "chat")
        .Int("gen_ai.usage.input_tokens", in)
        .Int("gen_ai.usage.output_tokens", out);
  }
  OtlpSpan Build() const { return span_; }
  operator OtlpSpan() const { return span_; }  // NOLINT: builder

 private:
  OtlpSpan span_;
};

inline TraceBatch Batch(std::vector<OtlpSpan> spans) { return TraceBatch{std::move(spans)}; }

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string Fixture(const std::string& rel) {
  return ReadFile(std::string(AW_SOURCE_DIR) + "/tests/unit/otlp/fixtures/" + rel);
}

}  // namespace aw::otlp::testing
