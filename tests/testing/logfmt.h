#pragma once

// A strict logfmt parser (the go-logfmt grammar) for tests of the daemon's
// log lines: key=value pairs separated by one space; a value is bare (no
// space, '=', '"') or double-quoted with \" \\ \n \r \t \uXXXX escapes.
// Returns nullopt for anything else (control bytes in quotes, duplicate
// keys, a trailing space), so a broken line fails the test instead of
// parsing leniently.

#include <map>
#include <optional>
#include <string>

namespace aw::testing {

std::optional<std::map<std::string, std::string>> ParseLogfmt(const std::string& line);

}  // namespace aw::testing
