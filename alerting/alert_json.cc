#include "alerting/alert_json.h"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

namespace aw::alerting {
namespace {

using nlohmann::json;

json Number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json LabelsJson(const Labels& labels) {
  json out = json::object();
  for (const auto& [k, v] : labels) out[k] = v;
  return out;
}

std::string TypeName(const json& j) { return j.type_name(); }

// Each reader returns false with *error set when the field has the wrong
// type; an absent field leaves *out alone.
bool ReadString(const json& obj, const char* key, std::string* out, std::string* error) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_string()) {
    *error = std::string(key) + ": expected string, got " + TypeName(*it);
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

bool ReadDouble(const json& obj, const char* key, double* out, std::string* error) {
  auto it = obj.find(key);
  if (it == obj.end()) return true;
  if (it->is_null()) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (!it->is_number()) {
    *error = std::string(key) + ": expected number, got " + TypeName(*it);
    return false;
  }
  *out = it->get<double>();
  return true;
}

bool ReadTime(const json& obj, const char* key, TimeMs* out, std::string* error) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (it->is_number_integer()) {
    *out = it->get<TimeMs>();
    return true;
  }
  if (it->is_number_float()) {
    *out = static_cast<TimeMs>(std::llround(it->get<double>()));
    return true;
  }
  *error = std::string(key) + ": expected integer milliseconds, got " + TypeName(*it);
  return false;
}

bool ReadBool(const json& obj, const char* key, bool* out, std::string* error) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_boolean()) {
    *error = std::string(key) + ": expected boolean, got " + TypeName(*it);
    return false;
  }
  *out = it->get<bool>();
  return true;
}

bool ReadLabels(const json& obj, const char* key, Labels* out, std::string* error) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_object()) {
    *error = std::string(key) + ": expected object, got " + TypeName(*it);
    return false;
  }
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) {
      *error = std::string(key) + "." + k + ": expected string, got " + TypeName(v);
      return false;
    }
    (*out)[k] = v.get<std::string>();
  }
  return true;
}

}  // namespace

std::string AlertEventToJson(const AlertEvent& e) {
  const json j{
      {"name", e.name},
      {"labels", LabelsJson(e.labels)},
      {"annotations", LabelsJson(e.annotations)},
      {"resolved", e.resolved},
      {"value", Number(e.value)},
      {"threshold", Number(e.threshold)},
      {"op", e.op},
      {"sli", e.sli},
      {"stat", e.stat},
      {"window", e.window},
      {"active_since_ms", e.active_since_ms},
      {"fired_at_ms", e.fired_at_ms},
      {"resolved_at_ms", e.resolved_at_ms},
      {"fingerprint", e.fingerprint},
  };
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<AlertEvent> AlertEventFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Status::InvalidArgument("alert event: invalid JSON");
  }
  if (!j.is_object()) {
    return Status::InvalidArgument("alert event: expected object, got " + TypeName(j));
  }
  AlertEvent e;
  std::string error;
  bool ok = ReadString(j, "name", &e.name, &error) && ReadLabels(j, "labels", &e.labels, &error) &&
            ReadLabels(j, "annotations", &e.annotations, &error) &&
            ReadBool(j, "resolved", &e.resolved, &error) &&
            ReadDouble(j, "value", &e.value, &error) &&
            ReadDouble(j, "threshold", &e.threshold, &error) &&
            ReadString(j, "op", &e.op, &error) && ReadString(j, "sli", &e.sli, &error) &&
            ReadString(j, "stat", &e.stat, &error) && ReadString(j, "window", &e.window, &error) &&
            ReadTime(j, "active_since_ms", &e.active_since_ms, &error) &&
            ReadTime(j, "fired_at_ms", &e.fired_at_ms, &error) &&
            ReadTime(j, "resolved_at_ms", &e.resolved_at_ms, &error) &&
            ReadString(j, "fingerprint", &e.fingerprint, &error);
  if (!ok) return Status::InvalidArgument("alert event: " + error);
  if (e.name.empty()) {
    return Status::InvalidArgument("alert event: name: required");
  }
  return e;
}

}  // namespace aw::alerting
