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

# Our native batch produce/consume addon (native/kafka-batch) links against the
# librdkafka the Kafka client just built, so it is rebuilt whenever that library
# or its own sources are newer than the addon. A failed build stops the install:
# the bus would otherwise fall back to the binding's slower per-record paths.
addon="native/kafka-batch/build/Release/kafka_batch.node"
rdkafka="node_modules/@confluentinc/kafka-javascript/build/deps/librdkafka.so.1"
if [ ! -f "$addon" ] || [ "$rdkafka" -nt "$addon" ] || [ -n "$(find native/kafka-batch/src native/kafka-batch/binding.gyp -newer "$addon" 2>/dev/null)" ]; then
  gyp=""
  for c in "$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" \
    "$MF_NODE_PREFIX/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" \
    /usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js; do
    if [ -f "$c" ]; then gyp="$c"; break; fi
  done
  if [ -z "$gyp" ]; then echo "marketflow: node-gyp not found (it ships with npm)" >&2; exit 1; fi
  echo "marketflow: building native/kafka-batch" >&2
  (cd native/kafka-batch && node "$gyp" rebuild --loglevel=error >&2)
fi
