#include "exporters/sli_render.h"

#include <prometheus/text_serializer.h>

#include <nlohmann/json.hpp>

#include "exporters/external_labels.h"

namespace aw::exporters {

namespace {

// The HELP and TYPE lines of the two families: what TextSerializer writes
// for them with no series, which every rendered block leaves out.
const std::vector<std::string>& FamilyHeaders() {
  static const std::vector<std::string> headers = [] {
    std::vector<std::string> out;
    for (const prometheus::MetricFamily& f : SliFamilies({}, MetricSelection{})) {
      out.push_back(prometheus::TextSerializer().Serialize({f}));
    }
    return out;
  }();
  return headers;
}

std::string WithoutHeader(std::string text, const std::string& header) {
  if (text.compare(0, header.size(), header) == 0) text.erase(0, header.size());
  return text;
}

}  // namespace

std::string SliRenderKey(const SliRenderOptions& options) {
  const MetricSelection& s = options.selection;
  nlohmann::json key = nlohmann::json::array();
  nlohmann::json slis = nlohmann::json::array();
  for (Sli sli : s.slis) slis.push_back(static_cast<int>(sli));
  nlohmann::json stats = nlohmann::json::array();
  for (Stat stat : s.stats) stats.push_back(static_cast<int>(stat));
  key.push_back(slis);
  key.push_back(stats);
  key.push_back(s.windows);
  key.push_back(s.samples);
  key.push_back(options.external_labels);
  return key.dump();
}

void RenderSliBlock(const std::vector<windows::SliRow>& rows, const SliRenderOptions& options,
                    windows::RenderedAgent& out) {
  out.json.clear();
  bool first = true;
  AppendSliRowsJson(rows, out.json, &first);
  std::vector<prometheus::MetricFamily> families = SliFamilies(rows, options.selection);
  AddExternalLabels(families, options.external_labels);
  const std::vector<std::string>& headers = FamilyHeaders();
  prometheus::TextSerializer serializer;
  out.sli = WithoutHeader(serializer.Serialize({families[0]}), headers[0]);
  out.samples = WithoutHeader(serializer.Serialize({families[1]}), headers[1]);
}

void AppendSliJson(const windows::RenderedSnapshot& snapshot, std::string& out, bool* first,
                   size_t then) {
  // Sized once: growing a 13 MB reply by doubling copies it over and over
  // and leaves the allocator holding twice that.
  size_t size = out.size() + snapshot.agents.size() + then;
  for (const auto& block : snapshot.agents) size += block->json.size();
  out.reserve(size);
  for (const auto& block : snapshot.agents) {
    if (block->json.empty()) continue;
    if (!*first) out += ',';
    *first = false;
    out += block->json;
  }
}

void AppendSliFamiliesText(const windows::RenderedSnapshot& snapshot, std::string& out) {
  const std::vector<std::string>& headers = FamilyHeaders();
  size_t size = out.size() + headers[0].size() + headers[1].size();
  for (const auto& block : snapshot.agents) size += block->sli.size() + block->samples.size();
  out.reserve(size);
  out += headers[0];
  for (const auto& block : snapshot.agents) out += block->sli;
  out += headers[1];
  for (const auto& block : snapshot.agents) out += block->samples;
}

}  // namespace aw::exporters
