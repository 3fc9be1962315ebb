#!/usr/bin/env bash
# Checks that the Cloudflare Workers bundle builds: `wrangler deploy --dry-run` bundles src/worker.ts
# with wrangler.toml (nodejs_compat) exactly as a deploy would, without uploading anything.
# Exits non-zero when the bundle fails or its gzip size passes WORKERS_MAX_GZIP_KIB (default 3072,
# the Workers Free plan limit). Extra arguments go to wrangler.
#
# Wrangler 4 needs Node >= 22. When the current Node is older, a Node 22 binary is installed once
# from the npm registry (the node-<os>-<arch> package, no install scripts) under .tools/node22
# (git-ignored); later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_MAJOR=22
TOOLS_DIR=.tools/node$NODE_MAJOR
MAX_GZIP_KIB=${WORKERS_MAX_GZIP_KIB:-3072}
started=$(date +%s%N)

major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

node_bin=node
if [ "$(major_of node)" -lt "$NODE_MAJOR" ]; then
  platform=$(node -p 'process.platform === "win32" ? "win" : process.platform')
  arch=$(node -p 'process.arch')
  package="node-$platform-$arch"
  node_bin="$TOOLS_DIR/node_modules/$package/bin/node"
  if [ "$(major_of "$node_bin")" != "$NODE_MAJOR" ]; then
    echo "check:workers: installing Node $NODE_MAJOR ($package) into $TOOLS_DIR for wrangler"
    npm install --prefix "$TOOLS_DIR" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
      --loglevel=error "$package@$NODE_MAJOR" >/dev/null
  fi
fi

if [ ! -f node_modules/wrangler/bin/wrangler.js ]; then
  echo "check:workers: wrangler is not installed; run npm ci first" >&2
  exit 1
fi

outdir=$(mktemp -d "${TMPDIR:-/tmp}/thuispost-workers.XXXXXX")
trap 'rm -rf "$outdir"' EXIT

# No telemetry, no update check, no prompts; the dry run itself needs no network.
export WRANGLER_SEND_METRICS=false CI=true
"$node_bin" node_modules/wrangler/bin/wrangler.js deploy --dry-run --outdir "$outdir" "$@" >"$outdir/wrangler.log" 2>&1 || {
  cat "$outdir/wrangler.log" >&2
  echo "check:workers: FAILED: the Workers bundle did not build" >&2
  exit 1
}

bundle="$outdir/worker.js"
if [ ! -s "$bundle" ]; then
  cat "$outdir/wrangler.log" >&2
  echo "check:workers: FAILED: wrangler wrote no $bundle" >&2
  exit 1
fi
bytes=$(wc -c <"$bundle")
gzip_bytes=$(gzip -9 -c "$bundle" | wc -c)
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
printf 'check:workers: bundle OK: worker.js %d KiB, gzip %d KiB (limit %d KiB), %s, %d ms\n' \
  $((bytes / 1024)) $((gzip_bytes / 1024)) "$MAX_GZIP_KIB" "$(grep -o 'wrangler [0-9.]*' "$outdir/wrangler.log" | head -1)" \
  "$elapsed_ms"
if [ $((gzip_bytes / 1024)) -gt "$MAX_GZIP_KIB" ]; then
  echo "check:workers: FAILED: the gzipped bundle is larger than $MAX_GZIP_KIB KiB" >&2
  exit 1
fi
