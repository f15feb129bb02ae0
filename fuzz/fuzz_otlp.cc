// The OTLP decoders (traces and logs, protobuf and JSON) on the same bytes,
// then what the server does with a decoded request: the assembler (a tiny
// bound, so eviction runs), a duplicate re-send, a rollback, the verdict
// mapping and the reply encoders. Input: a raw request body, no mode byte.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <google/protobuf/stubs/logging.h>

#include "daemon/otlp/assembler.h"
#include "daemon/otlp/decode.h"
#include "daemon/otlp/logs.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void Assemble(const aw::otlp::TraceBatch& batch) {
  aw::otlp::AssemblerOptions opts;
  opts.max_pending_spans = 8;
  opts.assembly_window = aw::Millis(1000);
  aw::otlp::Assembler a(opts);
  const aw::TimeMs now = 1'764'000'060'000;
  auto first = a.Ingest(batch, now);
  auto again = a.Ingest(batch, now + 1);
  a.Rollback(again);
  auto later = a.Ingest(batch, now + 2000);  // after the window
  (void)later;
  const auto c = a.counters();
  Check(c.held >= 0 && c.waiting >= 0 && c.waiting <= c.held && c.investigations_held >= 0);
  Check(c.held + c.investigations_held <= 8);
  Check(first.investigations.size() + first.rejected.size() <= batch.spans.size());
  for (const auto& inv : first.investigations) {
    Check(!inv.span.investigation_id.empty() && !inv.span.agent.empty());
  }
  aw::otlp::EncodeTraceResponse(static_cast<int64_t>(first.rejected.size()),
                                first.rejected.empty() ? "" : first.rejected[0].error,
                                aw::otlp::Encoding::kJson);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Protobuf logs every invalid UTF-8 string it meets; the noise slows fuzzing.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (auto enc : {aw::otlp::Encoding::kProtobuf, aw::otlp::Encoding::kJson}) {
    auto traces = aw::otlp::DecodeTraces(body, enc);
    if (traces.ok()) {
      Assemble(*traces);
    } else {
      Check(!traces.status().message().empty());
      aw::otlp::EncodeRpcStatus(3, traces.status().message(), enc);
    }
    auto logs = aw::otlp::DecodeLogs(body, enc);
    if (logs.ok()) {
      auto v = aw::otlp::VerdictsFromLogs(*logs, aw::otlp::LogsOptions{}, 0);
      Check(v.verdicts.size() + static_cast<size_t>(v.ignored + v.rejected) ==
            logs->records.size());
    }
  }
  return 0;
}
