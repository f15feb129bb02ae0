#pragma once

// Helpers shared by SqliteStore's files (defined in sqlite_store.cc).
// Internal to daemon/store.

#include <string>

#include "daemon/common/types.h"

namespace aw::store_internal {

// SQLITE_CORRUPT or SQLITE_NOTADB (extended codes too): a damaged file.
bool IsDamage(int code);
// How to restore or salvage the damaged file at `path`, for error messages.
std::string RecoveryHint(const std::string& path);
// Labels as stored in a TEXT column: a JSON object, or "" (NULL) when empty.
std::string LabelsToText(const Labels& labels);

}  // namespace aw::store_internal
