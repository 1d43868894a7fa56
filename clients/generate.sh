#!/usr/bin/env bash
# Generates both SDKs from openapi/openapi.json.
#
#   clients/generate.sh write   regenerate the code in the tree (`make sdk`)
#   clients/generate.sh check   regenerate into a temporary directory and fail if the
#                               tree differs (`make sdk-check`, part of openapi-check)
#
# Generated: clients/python/levelstream_client/ (all but the hand-written modules
# listed in PY_HANDWRITTEN) and clients/js/src/gen/. Needs .venv-tools (`make tools`)
# and clients/js/node_modules (`make js-deps`).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:?usage: clients/generate.sh write|check}
ROOT=$PWD
SPEC=$ROOT/openapi/openapi.json
TOOLS=$ROOT/.venv-tools/bin
PY_PKG=clients/python/levelstream_client
# Hand-written modules inside the generated package: kept by every regeneration.
# (cel/ is app/cel's copy, kept by scripts/vendor_cel.py: `make sdk-cel`.)
PY_HANDWRITTEN="exceptions.py sdk.py queries.py admin.py realtime.py realtime_streams.py realtime_types.py
  offline.py offline_outbox.py offline_store.py cel py.typed"
JS_GEN=clients/js/src/gen

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- Python: openapi-python-client, from its own virtualenv -------------------------
PATH="$TOOLS:$PATH" "$TOOLS/openapi-python-client" generate \
  --path "$SPEC" --meta none --overwrite --fail-on-warning \
  --config clients/python/openapi-python-client.yaml \
  --output-path "$tmp/python/levelstream_client" >"$tmp/python.log" 2>&1 ||
  { cat "$tmp/python.log"; exit 1; }
for f in $PY_HANDWRITTEN; do
  if [ -e "$PY_PKG/$f" ]; then cp -a "$PY_PKG/$f" "$tmp/python/levelstream_client/$f"; fi
done

# --- TypeScript: @hey-api/openapi-ts (pinned 0.95.x: Node 20) ------------------------
(cd clients/js && OPENAPI_TS_INPUT="$SPEC" OPENAPI_TS_OUTPUT="$tmp/js-gen" \
  node node_modules/@hey-api/openapi-ts/bin/run.js >"$tmp/js.log" 2>&1) ||
  { cat "$tmp/js.log"; exit 1; }

# A top-level module that is neither generated nor listed as hand-written would be lost
# by `write` and reported as drift by `check`: refuse, and say which. (api/ and models/
# are wholly generated: files there that the document no longer produces just go.)
if [ -d "$PY_PKG" ]; then
  strays=$(cd "$PY_PKG" && find . -maxdepth 1 -type f |
    while read -r f; do [ -e "$tmp/python/levelstream_client/$f" ] || echo "$f"; done)
  if [ -n "$strays" ]; then
    echo "unknown files in $PY_PKG (add them to PY_HANDWRITTEN in $0, or delete them):"
    echo "$strays"
    exit 1
  fi
fi

case "$mode" in
  write)
    rm -rf "$PY_PKG" "$JS_GEN"
    cp -a "$tmp/python/levelstream_client" "$PY_PKG"
    mkdir -p "$(dirname "$JS_GEN")"
    cp -a "$tmp/js-gen" "$JS_GEN"
    echo "sdk: regenerated $PY_PKG and $JS_GEN from openapi/openapi.json"
    ;;
  check)
    status=0
    diff -ru --exclude=__pycache__ "$tmp/python/levelstream_client" "$PY_PKG" >"$tmp/py.diff" || status=1
    diff -ru "$tmp/js-gen" "$JS_GEN" >"$tmp/js.diff" || status=1
    if [ "$status" -ne 0 ]; then
      echo "the generated SDK code is out of date with openapi/openapi.json: run 'make sdk' and commit"
      head -60 "$tmp/py.diff" "$tmp/js.diff"
      exit 1
    fi
    echo "sdk: generated code matches openapi/openapi.json"
    ;;
  *) echo "usage: clients/generate.sh write|check" >&2; exit 2 ;;
esac
