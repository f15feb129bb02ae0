// Raw request bytes through the server's own parser path: the Beast
// request parser with the server's limits, the head checks (field count,
// line length, Content-Encoding), gzip decoding bounded by the body limit,
// and the target split into path and query. Small limits so the fuzzer
// reaches the limit paths quickly.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "daemon/http/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  aw::http::Options opts;
  opts.header_limit = 2048;
  opts.max_header_fields = 16;
  opts.max_header_line = 512;
  opts.body_limit = 4096;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // Several requests back to back, as a pipelining client sends them.
  for (int i = 0; i < 8 && !bytes.empty(); ++i) {
    aw::http::Request req;
    const aw::http::ParseOutcome o = aw::http::ParseRequest(bytes, opts, &req);
    if (o.consumed > bytes.size()) __builtin_trap();
    if (o.complete) {
      if (req.body.size() > opts.body_limit) __builtin_trap();
      (void)aw::http::JsonError(req.path + req.header("Content-Type") + req.param("agent"));
    }
    if (!o.complete || o.consumed == 0) break;
    bytes.remove_prefix(o.consumed);
  }
  return 0;
}
