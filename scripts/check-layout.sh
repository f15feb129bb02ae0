#!/usr/bin/env bash
# Fails when the tree breaks one of two layout rules, listing what breaks it:
#  1. JSON is an implementation detail: no header outside daemon/server/ and
#     tests/ includes nlohmann (interfaces take plain structs, or std::string
#     where the thing is a serialized wire payload).
#  2. Libraries link only downwards in the data flow: each aw_library() in a
#     CMakeLists.txt names only aw:: targets that come before it in ORDER.
set -euo pipefail
cd "$(dirname "$0")/.."

# Lowest first. A new library target must be placed here.
ORDER=(common config ingest store windows rules alerting exporters otlp http tools server)

fail=0

# Tracked and new (not ignored) files, so an uncommitted change counts too.
mapfile -t headers < <(git ls-files --cached --others --exclude-standard -- '*.h' '*.hpp' |
  grep -v -e '^daemon/server/' -e '^tests/' || true)
json_headers=()
for h in "${headers[@]}"; do
  [[ -f "$h" ]] || continue
  if grep -Eq '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]nlohmann/' "$h"; then
    json_headers+=("$h")
  fi
done
if ((${#json_headers[@]} > 0)); then
  echo "check-layout: headers outside daemon/server and tests/ include nlohmann" \
    "(move the JSON into the .cc; pass structs or std::string):" >&2
  printf '  %s\n' "${json_headers[@]}" >&2
  fail=1
fi

declare -A rank
for i in "${!ORDER[@]}"; do rank[${ORDER[$i]}]=$i; done

mapfile -t cmake_files < <(git ls-files --cached --others --exclude-standard -- \
  'CMakeLists.txt' '*/CMakeLists.txt' | grep -v -e '^tests/' -e '^bench/' -e '^fuzz/' || true)
# Each aw_library(...) call on one line: "<file> <name> <arguments...>".
calls=$(for f in "${cmake_files[@]}"; do
  [[ -f "$f" ]] || continue
  awk -v file="$f" '
    { sub(/#.*/, "") }
    !open && /(^|[^A-Za-z0-9_])aw_library\(/ { open = 1; buf = ""; depth = 0
      $0 = substr($0, index($0, "aw_library(")) }
    open { buf = buf " " $0; depth += gsub(/\(/, "(") - gsub(/\)/, ")")
      if (depth <= 0) { sub(/^ *aw_library\( */, "", buf); print file " " buf; open = 0 } }
  ' "$f"
done)
libs=0
while read -r file name rest; do
  [[ -n "${file:-}" ]] || continue
  libs=$((libs + 1))
  if [[ -z "${rank[$name]+x}" ]]; then
    echo "check-layout: $file: library '$name' is not in ORDER (scripts/check-layout.sh)" >&2
    fail=1
    continue
  fi
  for dep in $(grep -oE 'aw::[A-Za-z0-9_]+' <<<"$rest" | sed 's/^aw:://' | sort -u); do
    if [[ -z "${rank[$dep]+x}" ]]; then
      echo "check-layout: $file: $name links aw::$dep, which is not in ORDER" >&2
      fail=1
    elif ((rank[$dep] >= rank[$name])); then
      echo "check-layout: $file: $name links aw::$dep, which is not below it" \
        "(order: ${ORDER[*]})" >&2
      fail=1
    fi
  done
done <<<"$calls"
if ((libs == 0)); then
  echo "check-layout: found no aw_library() calls; the CMakeLists parsing is stale" >&2
  fail=1
fi

((fail == 0)) || exit 1
echo "check-layout: ${#headers[@]} headers free of nlohmann, $libs libraries link downwards"
