// agentwatch-otlp-bench: OTLP/HTTP ingest throughput. Requests hold 10
// GenAI investigations, each with 20 children (chat and execute_tool),
// split as a BatchSpanProcessor does: children first, their agent span in
// the next request.
//   - without --url: the per-core ceiling without HTTP or the store (decode
//     a request, then decode + assemble it, mapping and validation included);
//   - with --url: end to end against a running daemon, POST /v1/traces from
//     --connections clients, counting spans in requests answered 200 (every
//     investigation in them committed).
//
//   agentwatch-otlp-bench [--seconds 1]
//   agentwatch-otlp-bench --url http://127.0.0.1:9464 [--seconds 5] [--connections 8]
// Prints spans/s for protobuf and JSON.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "daemon/otlp/assembler.h"
#include "daemon/otlp/decode.h"
#include "daemon/otlp/otlp.pb.h"

namespace {

using Steady = std::chrono::steady_clock;
namespace pb = aw::otlp::pb;

constexpr int kInvestigationsPerRequest = 10;
constexpr int kChildren = 20;
// Span times: fixed in-process; a minute ago end to end (max_event_age).
uint64_t g_t0_ns = 1'764'000'000'000'000'000ULL;

std::string Id(uint64_t n, size_t bytes) {
  std::string s(bytes, '\0');
  for (size_t i = 0; i < bytes && i < 8; ++i) s[bytes - 1 - i] = static_cast<char>(n >> (8 * i));
  return s;
}

void Attr(pb::Span* s, const char* key, const std::string& v) {
  auto* kv = s->add_attributes();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(v);
}
void Attr(pb::Span* s, const char* key, int64_t v) {
  auto* kv = s->add_attributes();
  kv->set_key(key);
  kv->mutable_value()->set_int_value(v);
}

// Request `r` carries the children of investigations [r*10, r*10+10) and
// the agent spans of the previous request's investigations.
// `first_id` offsets every id, so two runs against one daemon never share one.
pb::ExportTraceServiceRequest MakeRequest(uint64_t r, uint64_t first_id = 0) {
  pb::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* res = rs->mutable_resource()->add_attributes();
  res->set_key("service.name");
  res->mutable_value()->set_string_value("triage-service");
  auto* ss = rs->add_scope_spans();
  for (int i = 0; i < kInvestigationsPerRequest; ++i) {
    const uint64_t inv = first_id + r * kInvestigationsPerRequest + i + 1;
    for (int c = 0; c < kChildren; ++c) {
      auto* s = ss->add_spans();
      s->set_trace_id(Id(inv, 16));
      s->set_span_id(Id(inv * 100 + c + 2, 8));
      s->set_parent_span_id(Id(inv * 100 + 1, 8));
      s->set_start_time_unix_nano(g_t0_ns + c * 1'000'000);
      s->set_end_time_unix_nano(g_t0_ns + c * 1'000'000 + 500'000);
      if (c % 2 == 0) {
        s->set_name("chat claude-sonnet-4-6");
        Attr(s, "gen_ai.operation.name", std::string("chat"));
        Attr(s, "gen_ai.request.model", std::string("claude-sonnet-4-6"));
        Attr(s, "gen_ai.usage.input_tokens", int64_t{1200});
        Attr(s, "gen_ai.usage.output_tokens", int64_t{300});
      } else {
        s->set_name("execute_tool get_logs");
        Attr(s, "gen_ai.operation.name", std::string("execute_tool"));
        Attr(s, "gen_ai.tool.name", std::string("get_logs"));
      }
    }
    if (r > 0) {
      const uint64_t prev = inv - kInvestigationsPerRequest;
      auto* s = ss->add_spans();
      s->set_trace_id(Id(prev, 16));
      s->set_span_id(Id(prev * 100 + 1, 8));
      s->set_name("invoke_agent triage");
      s->set_start_time_unix_nano(g_t0_ns);
      s->set_end_time_unix_nano(g_t0_ns + 30'000'000);
      Attr(s, "gen_ai.operation.name", std::string("invoke_agent"));
      Attr(s, "gen_ai.agent.name", std::string("triage"));
    }
  }
  return req;
}

std::string ToHex(const std::string& b) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (unsigned char c : b) {
    o += d[c >> 4];
    o += d[c & 15];
  }
  return o;
}

// The OTLP JSON mapping of the same request (written by hand: protobuf's own
// JSON printer would base64 the ids).
std::string ToJson(const pb::ExportTraceServiceRequest& req) {
  std::string o =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"triage-service"}}]},"scopeSpans":[{"spans":[)";
  bool first = true;
  for (const auto& s : req.resource_spans(0).scope_spans(0).spans()) {
    if (!first) o += ',';
    first = false;
    o += R"({"traceId":")" + ToHex(s.trace_id()) + R"(","spanId":")" + ToHex(s.span_id()) +
         R"(","parentSpanId":")" + ToHex(s.parent_span_id()) + R"(","name":")" + s.name() +
         R"(","kind":1,"startTimeUnixNano":")" + std::to_string(s.start_time_unix_nano()) +
         R"(","endTimeUnixNano":")" + std::to_string(s.end_time_unix_nano()) +
         R"(","attributes":[)";
    for (int k = 0; k < s.attributes_size(); ++k) {
      const auto& kv = s.attributes(k);
      if (k) o += ',';
      o += R"({"key":")" + kv.key() + R"(","value":)";
      if (kv.value().has_string_value()) {
        o += R"({"stringValue":")" + kv.value().string_value() + "\"}}";
      } else {
        o += R"({"intValue":")" + std::to_string(kv.value().int_value()) + "\"}}";
      }
    }
    o += "]}";
  }
  return o + "]}]}]}";
}

double Seconds(Steady::time_point since) {
  return std::chrono::duration<double>(Steady::now() - since).count();
}

void Run(const char* name, const std::vector<std::string>& bodies, aw::otlp::Encoding enc,
         double seconds) {
  size_t spans = 0, i = 0;
  auto start = Steady::now();
  while (Seconds(start) < seconds) {
    auto b = aw::otlp::DecodeTraces(bodies[i++ % bodies.size()], enc);
    if (!b.ok()) {
      std::fprintf(stderr, "%s\n", b.status().message().c_str());
      return;
    }
    spans += b->spans.size();
  }
  const double decode = static_cast<double>(spans) / Seconds(start);

  aw::otlp::Assembler assembler(aw::otlp::AssemblerOptions{});
  spans = 0;
  size_t investigations = 0;
  start = Steady::now();
  const aw::TimeMs now = 1'764'000'060'000;
  for (i = 0; i < bodies.size() && Seconds(start) < seconds; ++i) {
    auto b = aw::otlp::DecodeTraces(bodies[i], enc);
    auto r = assembler.Ingest(*b, now);
    spans += b->spans.size();
    investigations += r.investigations.size();
  }
  const double assemble = static_cast<double>(spans) / Seconds(start);
  std::printf("%-9s decode %9.0f spans/s   decode+assemble %9.0f spans/s  (%zu investigations)\n",
              name, decode, assemble, investigations);
}

// Posts bodies[0..] in order from `connections` clients until they run out
// or `seconds` pass; spans/s over requests answered 200.
void RunHttp(const char* name, const std::string& url, const std::vector<std::string>& bodies,
             const std::vector<size_t>& span_counts, const char* content_type, int connections,
             double seconds) {
  std::atomic<size_t> next{0}, spans{0}, ok{0}, failed{0};
  const auto start = Steady::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < connections; ++c) {
    clients.emplace_back([&] {
      httplib::Client client(url);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);  // head and body go in two writes: no Nagle wait
      client.set_read_timeout(30, 0);
      for (size_t i; (i = next++) < bodies.size() && Seconds(start) < seconds;) {
        auto res = client.Post("/v1/traces", bodies[i], content_type);
        if (res && res->status == 200) {
          spans += span_counts[i];
          ++ok;
        } else {
          ++failed;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  const double took = Seconds(start);
  std::printf(
      "%-9s end to end %9.0f spans/s  %7.0f investigations/s  (%zu requests 200, %zu failed, "
      "%d connections, %.1f s)\n",
      name, static_cast<double>(spans) / took, static_cast<double>(spans) / took / (kChildren + 1),
      ok.load(), failed.load(), connections, took);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1;
  std::string url;
  int connections = 8;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
    if (std::strcmp(argv[i], "--url") == 0) url = argv[i + 1];
    if (std::strcmp(argv[i], "--connections") == 0) connections = std::atoi(argv[i + 1]);
  }
  if (!url.empty()) {
    g_t0_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count()) -
              60'000'000'000ULL;
    // Enough requests for `seconds` at ~300k spans/s.
    const int requests = static_cast<int>(seconds * 1500) + 100;
    std::vector<std::string> pbs, jsons;
    std::vector<size_t> pb_spans, json_spans;
    for (int r = 0; r < requests; ++r) {
      auto req = MakeRequest(static_cast<uint64_t>(r), 0);
      pbs.push_back(req.SerializeAsString());
      pb_spans.push_back(static_cast<size_t>(req.resource_spans(0).scope_spans(0).spans_size()));
      auto jreq = MakeRequest(static_cast<uint64_t>(r), 1'000'000'000);
      jsons.push_back(ToJson(jreq));
      json_spans.push_back(static_cast<size_t>(jreq.resource_spans(0).scope_spans(0).spans_size()));
    }
    RunHttp("protobuf", url, pbs, pb_spans, "application/x-protobuf", connections, seconds);
    RunHttp("json", url, jsons, json_spans, "application/json", connections, seconds);
    return 0;
  }
  // Enough distinct requests that assembly never sees a duplicate.
  const int kRequests = 2000;
  std::vector<std::string> pbs, jsons;
  for (int r = 0; r < kRequests; ++r) {
    auto req = MakeRequest(static_cast<uint64_t>(r));
    pbs.push_back(req.SerializeAsString());
    jsons.push_back(ToJson(req));
  }
  Run("protobuf", pbs, aw::otlp::Encoding::kProtobuf, seconds);
  Run("json", jsons, aw::otlp::Encoding::kJson, seconds);
  return 0;
}
