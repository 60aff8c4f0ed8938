#!/usr/bin/env bash
# Installs what the project needs to run, idempotently: Node (env.sh), the Debian
# libraries the Kafka client links against, and node_modules (npm ci) when the
# lockfile changed since the last install.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MF_ROOT"

# librdkafka is built from source here (no prebuilt download), linked dynamically.
MF_APT_DEV="libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev"
missing=""
for p in $MF_APT_DEV; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "marketflow: apt-get install$missing" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

stamp="node_modules/.mf-install-stamp"
want="$(node --version) $(sha1sum package-lock.json 2>/dev/null | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # `npm install` rather than `npm ci`: the registry reachable here serves only the
  # linux-x64 builds of platform packages (biome, duckdb), so the lockfile cannot list
  # the other platforms' optional packages and `npm ci` refuses it as "out of sync".
  # With the lockfile present, `npm install` installs exactly its versions and leaves it unchanged.
  echo "marketflow: npm install (node $(node --version))" >&2
  npm install --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi
