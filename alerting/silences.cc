#include "alerting/silences.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include <re2/re2.h>
#include <nlohmann/json.hpp>

#include "daemon/common/time_util.h"

namespace aw::alerting {

using json = nlohmann::json;

const char* SilenceStatusName(SilenceStatus s) {
  switch (s) {
    case SilenceStatus::kPending:
      return "pending";
    case SilenceStatus::kActive:
      return "active";
    case SilenceStatus::kExpired:
      return "expired";
  }
  return "expired";
}

SilenceStatus StatusAt(const Silence& s, TimeMs now) {
  if (now < s.starts_at_ms) return SilenceStatus::kPending;
  if (now >= s.ends_at_ms) return SilenceStatus::kExpired;
  return SilenceStatus::kActive;
}

Result<CompiledMatcher> CompiledMatcher::Compile(const SilenceMatcher& m) {
  CompiledMatcher c;
  c.m_ = m;
  if (m.is_regex) {
    RE2::Options options;
    options.set_log_errors(false);
    // Anchored as Alertmanager anchors: the whole value must match.
    auto re = std::make_shared<const RE2>("^(?:" + m.value + ")$", options);
    if (!re->ok()) {
      return Status::InvalidArgument("not a valid regular expression: " + re->error());
    }
    c.re_ = std::move(re);
  }
  return c;
}

bool CompiledMatcher::Matches(const Labels& labels) const {
  const auto it = labels.find(m_.name);
  const std::string empty;
  const std::string& value = it == labels.end() ? empty : it->second;
  const bool hit = re_ ? RE2::FullMatch(value, *re_) : value == m_.value;
  return hit == m_.is_equal;
}

bool MatchesAll(const std::vector<CompiledMatcher>& matchers, const Labels& labels) {
  if (matchers.empty()) return false;
  return std::all_of(matchers.begin(), matchers.end(),
                     [&](const CompiledMatcher& m) { return m.Matches(labels); });
}

namespace {

Result<TimeMs> TimeField(const json& body, const char* field) {
  const json& v = body.at(field);
  if (!v.is_string())
    return Status::InvalidArgument(std::string(field) + ": must be an RFC 3339 time string");
  const std::optional<TimeMs> t = ParseRfc3339(v.get<std::string>());
  if (!t) {
    return Status::InvalidArgument(std::string(field) + ": must be an RFC 3339 time, got \"" +
                                   v.get<std::string>() + "\"");
  }
  return *t;
}

Result<std::string> StringField(const json& body, const char* field) {
  if (!body.contains(field) || body.at(field).is_null()) return std::string();
  if (!body.at(field).is_string())
    return Status::InvalidArgument(std::string(field) + ": must be a string");
  return body.at(field).get<std::string>();
}

}  // namespace

Result<Silence> ParseSilenceRequest(std::string_view text, TimeMs now) {
  const json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) return Status::InvalidArgument("body: malformed JSON");
  if (!body.is_object()) return Status::InvalidArgument("body: must be a JSON object");
  Silence s;
  if (!body.contains("matchers") || !body["matchers"].is_array() || body["matchers"].empty()) {
    return Status::InvalidArgument("matchers: at least one matcher is required");
  }
  bool any_non_empty = false;
  for (size_t i = 0; i < body["matchers"].size(); ++i) {
    const json& m = body["matchers"][i];
    const std::string path = "matchers[" + std::to_string(i) + "]";
    if (!m.is_object()) return Status::InvalidArgument(path + ": must be an object");
    SilenceMatcher sm;
    if (!m.contains("name") || !m["name"].is_string() || m["name"].get<std::string>().empty()) {
      return Status::InvalidArgument(path + ".name: must be a non-empty string");
    }
    sm.name = m["name"].get<std::string>();
    if (!m.contains("value") || !m["value"].is_string()) {
      return Status::InvalidArgument(path + ".value: must be a string");
    }
    sm.value = m["value"].get<std::string>();
    for (const char* flag : {"isRegex", "isEqual"}) {
      if (m.contains(flag) && !m[flag].is_boolean()) {
        return Status::InvalidArgument(path + "." + flag + ": must be true or false");
      }
    }
    sm.is_regex = m.value("isRegex", false);
    sm.is_equal = m.value("isEqual", true);
    auto compiled = CompiledMatcher::Compile(sm);
    if (!compiled.ok()) {
      return Status::InvalidArgument(path + ".value: " + compiled.status().message());
    }
    any_non_empty |= !compiled->Matches(Labels{});
    s.matchers.push_back(std::move(sm));
  }
  // As Alertmanager: a silence whose matchers all accept an alert without
  // those labels would silence nearly everything.
  if (!any_non_empty) {
    return Status::InvalidArgument(
        "matchers: at least one matcher must not match the empty string");
  }
  s.starts_at_ms = now;
  if (body.contains("startsAt") && !body["startsAt"].is_null()) {
    auto t = TimeField(body, "startsAt");
    if (!t.ok()) return t.status();
    // A start in the past means now (Alertmanager does the same).
    s.starts_at_ms = std::max(*t, now);
  }
  if (!body.contains("endsAt") || body["endsAt"].is_null()) {
    return Status::InvalidArgument("endsAt: is required (an RFC 3339 time)");
  }
  auto ends = TimeField(body, "endsAt");
  if (!ends.ok()) return ends.status();
  s.ends_at_ms = *ends;
  if (s.ends_at_ms <= now) return Status::InvalidArgument("endsAt: must be in the future");
  if (s.ends_at_ms <= s.starts_at_ms)
    return Status::InvalidArgument("endsAt: must be after startsAt");
  auto created_by = StringField(body, "createdBy");
  if (!created_by.ok()) return created_by.status();
  s.created_by = *created_by;
  auto comment = StringField(body, "comment");
  if (!comment.ok()) return comment.status();
  s.comment = *comment;
  s.updated_at_ms = now;
  return s;
}

std::string NewSilenceId() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi, lo;
  {
    std::lock_guard lock(mu);
    hi = rng();
    lo = rng();
  }
  // Version 4, variant 10.
  hi = (hi & ~0xF000ULL) | 0x4000ULL;
  lo = (lo & ~(0xC000ULL << 48)) | (0x8000ULL << 48);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xFFFF),
                static_cast<unsigned long long>(hi & 0xFFFF),
                static_cast<unsigned long long>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

Status Silences::Put(const Silence& s) {
  Entry e;
  e.silence = s;
  for (const SilenceMatcher& m : s.matchers) {
    auto c = CompiledMatcher::Compile(m);
    if (!c.ok()) return Status::InvalidArgument("silence " + s.id + ": " + c.status().message());
    e.matchers.push_back(std::move(c).value());
  }
  std::lock_guard lock(mu_);
  by_id_[s.id] = std::move(e);
  return Status::Ok();
}

void Silences::Erase(const std::vector<std::string>& ids) {
  std::lock_guard lock(mu_);
  for (const std::string& id : ids) by_id_.erase(id);
}

std::optional<Silence> Silences::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second.silence;
}

std::vector<Silence> Silences::List() const {
  std::vector<Silence> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, e] : by_id_) out.push_back(e.silence);
  }
  std::stable_sort(out.begin(), out.end(), [](const Silence& a, const Silence& b) {
    return a.starts_at_ms < b.starts_at_ms;
  });
  return out;
}

std::vector<std::string> Silences::Matching(const Labels& labels, TimeMs now) const {
  std::vector<std::string> ids;
  std::lock_guard lock(mu_);
  for (const auto& [id, e] : by_id_) {
    if (StatusAt(e.silence, now) == SilenceStatus::kActive && MatchesAll(e.matchers, labels)) {
      ids.push_back(id);
    }
  }
  return ids;  // map order: sorted by id
}

}  // namespace aw::alerting
