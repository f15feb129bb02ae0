#include "daemon/store/sqlite_rows.h"

#include <nlohmann/json.hpp>

namespace aw::store_rows {

Labels LabelsFromText(const std::string& text) {
  Labels labels;
  if (text.empty()) return labels;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (v.is_string()) labels[k] = v.get<std::string>();
    }
  }
  return labels;
}

}  // namespace aw::store_rows
