// LoadConfig over arbitrary YAML: written to a temp file (LoadConfig reads
// a path), loaded, removed.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "daemon/config/config.h"

namespace {

const std::string& Dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/aw-fuzz-config-XXXXXX";
    const char* d = mkdtemp(tmpl);
    if (!d) std::abort();
    // A secret file the *_file keys can name (relative to the config).
    std::ofstream(std::string(d) + "/secret.txt") << "s3cret\n";
    return std::string(d);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // *_file keys read whatever path they name; a device would block or never
  // end (the config is the operator's own file, so that is not a bug).
  for (const char* dev : {"/dev", "/proc", "/sys", "/run", "/var"}) {
    if (text.find(dev) != std::string_view::npos) return 0;
  }
  const std::string path = Dir() + "/agentwatch.yaml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  auto config = aw::LoadConfig(path);
  if (!config.ok() && config.status().message().empty()) __builtin_trap();
  return 0;
}
