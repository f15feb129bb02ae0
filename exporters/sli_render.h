#pragma once

// Rendering of sli_windows rows into the per-agent blocks SnapshotCache
// keeps (windows/sli_views.h), and the reads that concatenate them: the
// /api/v1/slis row objects and the agentwatch_sli / agentwatch_sli_samples
// families of /metrics. The bytes are those AppendSliRowsJson and
// prometheus-cpp's TextSerializer write for the same rows (with the
// selection and external labels applied), so a read concatenates unchanged
// agents' bytes instead of rebuilding rows and MetricFamily objects.

#include <map>
#include <string>

#include "exporters/sli_collector.h"
#include "windows/sli_views.h"

namespace aw::exporters {

// What a block's /metrics part depends on besides the rows.
struct SliRenderOptions {
  MetricSelection selection;
  std::map<std::string, std::string> external_labels;
};

// A key that differs whenever two options render differently.
std::string SliRenderKey(const SliRenderOptions& options);

// Renders one agent's rows into `out` (all three parts).
void RenderSliBlock(const std::vector<windows::SliRow>& rows, const SliRenderOptions& options,
                    windows::RenderedAgent& out);

// Appends every block's JSON rows (comma-separated; `*first` as in
// AppendSliRowsJson), with room reserved for `then` more bytes after them.
void AppendSliJson(const windows::RenderedSnapshot& snapshot, std::string& out, bool* first,
                   size_t then = 0);

// Appends the two families, each with its HELP and TYPE lines once.
void AppendSliFamiliesText(const windows::RenderedSnapshot& snapshot, std::string& out);

}  // namespace aw::exporters
