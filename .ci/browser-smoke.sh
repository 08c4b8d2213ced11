#!/usr/bin/env bash
# Browser smoke test of the embedded UI: starts `BINARY demo` on a free port,
# drives it with headless Chromium (tests/browser/smoke.mjs), always stops it.
#
#   .ci/browser-smoke.sh target/debug/yingji
#
# Needs Node (for playwright-core, installed by `npm ci` in web/) and Chromium
# (installed from Debian's packages when /usr/bin/chromium is missing).
# SCREENSHOT_DIR (default target/screenshots) receives the screenshots.
set -euo pipefail

BINARY=${1:?usage: .ci/browser-smoke.sh BINARY}
BINARY=$(cd "$(dirname "$BINARY")" && pwd)/$(basename "$BINARY")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

if [ ! -x /usr/bin/chromium ]; then
  echo "browser-smoke: installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
elif command -v fc-list >/dev/null && [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  # Without a CJK font every Chinese label in the screenshots is a row of boxes.
  echo "browser-smoke: installing fonts-noto-cjk"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq fonts-noto-cjk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq fonts-noto-cjk >/dev/null; }
fi

if [ ! -d "$ROOT/web/node_modules/playwright-core" ]; then
  echo "browser-smoke: installing web dependencies"
  (cd "$ROOT/web" && npm ci --no-audit --no-fund)
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
PW="smoke-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
BASE_URL="http://127.0.0.1:$PORT"

"$BINARY" demo --db "sqlite://$TMP/smoke.db" --bind "127.0.0.1:$PORT" --password "$PW" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!

echo "browser-smoke: waiting for $BASE_URL/healthz"
for i in $(seq 1 240); do
  if curl -fsS "$BASE_URL/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "browser-smoke: the server exited early:"; cat "$TMP/server.log"; exit 1
  fi
  if [ "$i" = 240 ]; then echo "browser-smoke: the server did not become healthy in 120 s"; tail -50 "$TMP/server.log"; exit 1; fi
  sleep 0.5
done

status=0
BASE_URL="$BASE_URL" PASSWORD="$PW" SCREENSHOT_DIR="${SCREENSHOT_DIR:-$ROOT/target/screenshots}" \
  node "$ROOT/tests/browser/smoke.mjs" || status=$?
if [ "$status" != 0 ]; then
  echo "browser-smoke: failed; last server log lines:"
  tail -30 "$TMP/server.log" || true
fi
exit "$status"
