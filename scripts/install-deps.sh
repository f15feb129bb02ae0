#!/usr/bin/env bash
# Installs the Debian 12 packages agentwatch builds, tests and benchmarks with.
# Idempotent: runs apt-get only when something is missing.
set -euo pipefail
PACKAGES=(
  build-essential cmake pkg-config git ca-certificates openssl curl python3
  libcpp-httplib-dev libssl-dev zlib1g-dev libbrotli-dev
  prometheus-cpp-dev libyaml-cpp-dev nlohmann-json3-dev libboost-dev
  libsqlite3-dev sqlite3 libsimdjson-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  libhowardhinnant-date-dev tzdata libre2-dev libjemalloc-dev libxxhash-dev
  clang libclang-rt-14-dev clang-format
  prometheus prometheus-alertmanager nginx-light wrk
  nodejs
  chromium fonts-dejavu-core
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's nodejs has no npm; a nodejs that ships its own (NodeSource)
# conflicts with Debian's npm package, so ask for it only when missing.
command -v npm >/dev/null 2>&1 || missing+=(npm)
# The OpenTelemetry JS SDK the OTLP integration test exports with, at the
# versions in tests/otel/package-lock.json.
install_otel_sdk() {
  local otel
  otel="$(cd "$(dirname "$0")/.." && pwd)/tests/otel"
  if [ ! -d "$otel/node_modules" ]; then
    (cd "$otel" && npm ci --no-audit --no-fund >&2)
  fi
}
if ((${#missing[@]} == 0)); then
  install_otel_sdk
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Server packages must not start daemons on install: tests start their own on loopback.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
install_otel_sdk
