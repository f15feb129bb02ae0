#include "tests/testing/logfmt.h"

namespace aw::testing {

std::optional<std::map<std::string, std::string>> ParseLogfmt(const std::string& line) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    const size_t eq = line.find('=', i);
    if (eq == std::string::npos || eq == i) return std::nullopt;
    const std::string key = line.substr(i, eq - i);
    if (key.find_first_of(" \"") != std::string::npos) return std::nullopt;
    i = eq + 1;
    std::string value;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        const char c = line[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
        if (c != '\\') {
          value += c;
          continue;
        }
        if (i >= line.size()) return std::nullopt;
        const char e = line[i++];
        if (e == '"' || e == '\\')
          value += e;
        else if (e == 'n')
          value += '\n';
        else if (e == 'r')
          value += '\r';
        else if (e == 't')
          value += '\t';
        else if (e == 'u' && i + 4 <= line.size()) {
          value += static_cast<char>(std::stoi(line.substr(i, 4), nullptr, 16));
          i += 4;
        } else {
          return std::nullopt;
        }
      }
      if (!closed) return std::nullopt;
    } else {
      const size_t end = line.find(' ', i);
      value = line.substr(i, end == std::string::npos ? std::string::npos : end - i);
      if (value.find_first_of("=\"") != std::string::npos) return std::nullopt;
      i = end == std::string::npos ? line.size() : end;
    }
    if (!out.emplace(key, value).second) return std::nullopt;  // duplicate key
    if (i < line.size()) {
      if (line[i] != ' ' || i + 1 == line.size()) return std::nullopt;
      ++i;
    }
  }
  return out;
}

}  // namespace aw::testing
