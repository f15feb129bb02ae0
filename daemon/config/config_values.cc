// Loader's typed reads of YAML values: strings with ${VAR} expansion,
// secrets inline or from a file, durations, sizes, numbers, lists, URLs.

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/common/did_you_mean.h"
#include "daemon/common/time_util.h"

#include "daemon/config/loader.h"

namespace aw::config_internal {

// Rejects keys of `node` not in `known`, naming the key's line.
void Loader::CheckKeys(const YAML::Node& node, const std::string& where,
                       const std::set<std::string>& known) const {
  if (!node.IsMap()) Fail(node, where + ": must be a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (!known.count(key)) {
      Fail(kv.first, "unknown key \"" + key + "\" in " + where +
                         DidYouMean(key, std::vector<std::string>(known.begin(), known.end())));
    }
  }
}

std::string Loader::Expand(const YAML::Node& node, const std::string& field) const {
  if (!node.IsScalar()) Fail(node, field + ": must be a string");
  const std::string raw = node.Scalar();
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '$' && i + 1 < raw.size() && raw[i + 1] == '{') {
      const size_t end = raw.find('}', i + 2);
      if (end == std::string::npos) Fail(node, field + ": unterminated ${...}");
      const std::string var = raw.substr(i + 2, end - i - 2);
      const char* value = std::getenv(var.c_str());
      if (!value) Fail(node, field + ": environment variable " + var + " is not set");
      out += value;
      i = end;
    } else {
      out += raw[i];
    }
  }
  return out;
}

std::string Loader::Resolve(const std::string& path) const {
  if (path.empty() || path[0] == '/') return path;
  return (std::filesystem::path(dir_) / path).lexically_normal().string();
}

std::string Loader::ReadSecretFile(const YAML::Node& node, const std::string& field) const {
  const std::string path = Resolve(Expand(node, field));
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail(node, field + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.empty()) Fail(node, field + ": " + path + " is empty");
  return s;
}

// A string given inline as `key` or read from `key_file`.
std::string Loader::Secret(const YAML::Node& parent, const std::string& key,
                           const std::string& where, bool required) const {
  const YAML::Node inl = parent[key];
  const YAML::Node file = parent[key + "_file"];
  if (inl && file)
    Fail(file, where + "." + key + "_file: give " + key + " or " + key + "_file, not both");
  if (inl) return Expand(inl, where + "." + key);
  if (file) return ReadSecretFile(file, where + "." + key + "_file");
  if (required) Fail(parent, where + "." + key + ": is required");
  return "";
}

Millis Loader::Duration(const YAML::Node& node, const std::string& field) const {
  const std::string text = Expand(node, field);
  auto d = ParseDuration(text);
  if (!d) {
    const std::string hint = SuggestDuration(text);
    Fail(node, field + ": must be a duration such as 15s, 5m, 4h, 7d, got \"" + text + "\"" +
                   (hint.empty() ? "" : " (did you mean " + hint + "?)"));
  }
  return *d;
}

int64_t Loader::Bytes(const YAML::Node& node, const std::string& field) const {
  const std::string s = Expand(node, field);
  size_t i = 0;
  int64_t n = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    n = n * 10 + (s[i++] - '0');
    if (n > (int64_t{1} << 40)) Fail(node, field + ": too large");
  }
  const std::string unit = s.substr(i);
  int64_t mul = 0;
  if (unit.empty() || unit == "B")
    mul = 1;
  else if (unit == "KiB")
    mul = 1 << 10;
  else if (unit == "MiB")
    mul = 1 << 20;
  else if (unit == "GiB")
    mul = 1 << 30;
  else if (unit == "KB" || unit == "kB")
    mul = 1000;
  else if (unit == "MB")
    mul = 1000 * 1000;
  if (i == 0 || mul == 0 || n <= 0) Fail(node, field + ": must be a size such as 4MiB or 1048576");
  if (n > (int64_t{1} << 40) / mul) Fail(node, field + ": too large");  // n * mul overflowed
  return n * mul;
}

int64_t Loader::PositiveInt(const YAML::Node& node, const std::string& field) const {
  const std::string s = Expand(node, field);
  try {
    size_t pos = 0;
    const long long v = std::stoll(s, &pos);
    if (pos == s.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  Fail(node, field + ": must be a positive integer");
}

double Loader::NonNegative(const YAML::Node& node, const std::string& field) const {
  const std::string s = Expand(node, field);
  try {
    size_t pos = 0;
    const double v = std::stod(s, &pos);
    if (pos == s.size() && std::isfinite(v) && v >= 0) return v;
  } catch (const std::exception&) {
  }
  Fail(node, field + ": must be a non-negative number");
}

bool Loader::Bool(const YAML::Node& node, const std::string& field) const {
  const std::string s = Expand(node, field);
  if (s == "true") return true;
  if (s == "false") return false;
  Fail(node, field + ": must be true or false");
}

std::vector<std::string> Loader::StringList(const YAML::Node& node,
                                            const std::string& field) const {
  if (!node.IsSequence()) Fail(node, field + ": must be a list");
  std::vector<std::string> out;
  for (const auto& item : node) out.push_back(Expand(item, field + "[]"));
  return out;
}

std::vector<std::string> Loader::TokenList(const YAML::Node& parent, const std::string& key) const {
  std::vector<std::string> tokens;
  if (parent[key]) tokens = StringList(parent[key], "auth." + key);
  if (const YAML::Node file = parent[key + "_file"]) {
    const std::string text = ReadSecretFile(file, "auth." + key + "_file");
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty() && line[0] != '#') tokens.push_back(line);
    }
  }
  for (const std::string& t : tokens) {
    if (t.size() < 16) {
      Fail(parent[key] ? parent[key] : parent[key + "_file"],
           "auth." + key + ": tokens must be at least 16 characters");
    }
  }
  return tokens;
}

bool Loader::IsLabelName(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (const char ch : s) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') return false;
  }
  return true;
}

std::string Loader::CheckUrl(const YAML::Node& node, const std::string& field) const {
  std::string url = Expand(node, field);
  CheckUrlText(node, url, field);
  return url;
}

void Loader::CheckUrlText(const YAML::Node& node, const std::string& url,
                          const std::string& field) const {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    Fail(node, field + ": must be an http:// or https:// URL");
  }
}

}  // namespace aw::config_internal
