#pragma once

// The investigations behind an active alert's figure, as a reader query.
// Shared by GET /api/v1/investigations?alert= and the alert page.

#include "daemon/server/rule_runtime.h"
#include "daemon/store/investigation_reads.h"

namespace aw::server {

// Narrows `query` to the alert's group (its value of each `by` label, ""
// when it lacks one) and the rule's `where`, over the figure's window
// ending at now - offset: time W holds end-W < ts <= end, count N the
// latest N with ts <= end. Keeps query.verdict and query.limit. Returns
// false when the group and `where` contradict each other (nothing can
// match); `query` is then partly filled and must not be run.
bool NarrowToAlert(const RuleRuntime::AlertScope& scope, TimeMs now, InvestigationQuery& query);

}  // namespace aw::server
