#pragma once

// Silences as Alertmanager has them (CONTRACT.md "Delivery"): a set of label
// matchers and a time range. An alert whose labels every matcher of an
// active silence accepts notifies nobody; it is still evaluated and listed.
//
// Matching follows Alertmanager: a label the alert lacks reads as "";
// regex matchers are anchored (the whole value must match) and use RE2,
// Alertmanager's own syntax, which matches in time linear in the value: a
// silence cannot stall evaluation on label values an agent chose.
//
// The class holds the silences in memory; persisting them is the caller's
// job (store first, then Put, so memory never runs ahead of the store).
// Thread-safe (see Silences).

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/common/silence.h"
#include "daemon/common/status.h"
#include "daemon/common/types.h"

namespace re2 {
class RE2;
}

namespace aw::alerting {

enum class SilenceStatus { kPending, kActive, kExpired };
const char* SilenceStatusName(SilenceStatus s);  // pending|active|expired

// Pending before startsAt, active in [startsAt, endsAt), expired from endsAt.
SilenceStatus StatusAt(const Silence& s, TimeMs now);

// One matcher, compiled. Immutable after construction.
class CompiledMatcher {
 public:
  // InvalidArgument ("not a valid regular expression: ...") for a bad regex.
  static Result<CompiledMatcher> Compile(const SilenceMatcher& m);
  bool Matches(const Labels& labels) const;

 private:
  SilenceMatcher m_;
  std::shared_ptr<const re2::RE2> re_;  // null for an equality matcher
};

// True when every matcher accepts `labels` (false for no matchers).
bool MatchesAll(const std::vector<CompiledMatcher>& matchers, const Labels& labels);

// Parses and validates a POST /api/v1/silences body. startsAt defaults to
// `now`; endsAt is required, after startsAt and not in the past. Errors name
// the field: "matchers[1].value: not a valid regular expression: ...".
// Unknown fields are ignored; the id is left empty.
Result<Silence> ParseSilenceRequest(std::string_view body, TimeMs now);

// A fresh random id, formatted as a UUID (as Alertmanager's are).
std::string NewSilenceId();

// Thread-safe.
class Silences {
 public:
  // Adds or replaces (by id). InvalidArgument if a regex does not compile.
  Status Put(const Silence& s);
  std::optional<Silence> Get(const std::string& id) const;
  void Erase(const std::vector<std::string>& ids);
  // Every silence, expired ones too, by startsAt then id.
  std::vector<Silence> List() const;
  // Ids of the silences active at `now` that match `labels`, sorted.
  std::vector<std::string> Matching(const Labels& labels, TimeMs now) const;

 private:
  struct Entry {
    Silence silence;
    std::vector<CompiledMatcher> matchers;
  };
  mutable std::mutex mu_;
  std::map<std::string, Entry> by_id_;  // guarded by mu_
};

}  // namespace aw::alerting
