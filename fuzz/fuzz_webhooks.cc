// The PagerDuty v3 and Slack webhook parsers and signature checks. The
// first byte picks the target; the rest is the body (and, for the
// signature checks, the header text up to the first newline).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "daemon/ingest/parser.h"
#include "daemon/ingest/webhooks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  aw::ingest::ParseOptions opts;
  opts.now_ms = 1'764'000'000'000;
  switch (mode % 4) {
    case 0: {
      auto r = aw::ingest::ParsePagerDutyWebhook(input, opts);
      if (r.ok()) {
        for (const auto& res : r->resolutions) (void)aw::ingest::ToJson(res);
        if (r->ignored != r->resolutions.empty()) __builtin_trap();
      }
      break;
    }
    case 1: {
      auto r = aw::ingest::ParseSlackInteraction(input, opts);
      if (r.ok()) {
        for (const auto& f : r->feedback) {
          (void)aw::ingest::ToJson(f);
          if (f.verdict == aw::Verdict::kNone) __builtin_trap();
        }
      }
      break;
    }
    case 2: {  // header '\n' body
      const size_t nl = input.find('\n');
      const std::string_view header = input.substr(0, nl);
      const std::string_view body = nl == std::string_view::npos ? "" : input.substr(nl + 1);
      if (aw::ingest::VerifyPagerDutySignature(header, body, "fuzz-secret")) {
        // Forging an HMAC by fuzzing would be a finding in itself.
        __builtin_trap();
      }
      break;
    }
    default: {  // timestamp '\n' signature '\n' body
      const size_t a = input.find('\n');
      const size_t b = a == std::string_view::npos ? a : input.find('\n', a + 1);
      const std::string_view ts = input.substr(0, a);
      const std::string_view sig =
          a == std::string_view::npos
              ? ""
              : input.substr(a + 1, b == std::string_view::npos ? b : b - a - 1);
      const std::string_view body = b == std::string_view::npos ? "" : input.substr(b + 1);
      if (aw::ingest::VerifySlackSignature(ts, sig, body, "fuzz-secret", opts.now_ms).ok()) {
        __builtin_trap();
      }
      (void)aw::ingest::FormValue(input, "payload");
      (void)aw::ingest::ParseSlackActionValue(input, opts);
      break;
    }
  }
  return 0;
}
