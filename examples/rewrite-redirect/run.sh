#!/bin/sh
# Starts the rewrite-redirect example: demo backends on 127.0.0.1:9001-9003 and foyer
# on 127.0.0.1:8080 (see README.md for what to try). Ctrl-C stops everything.
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
backend="$top/tests/helpers/foyer-test-backend"
foyer="$top/foyer"
for f in "$backend" "$foyer"; do
    [ -x "$f" ] || { echo "$f is missing: run ./autogen.sh && ./configure && make" >&2; exit 1; }
done
pids=""
cleanup() { [ -n "$pids" ] && kill $pids 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
port=9001
for name in api static blog; do
    "$backend" --listen "127.0.0.1:$port" --name "$name" >/dev/null &
    pids="$pids $!"
    port=$((port + 1))
done
echo "demo backends on 127.0.0.1:9001-9003; foyer on 127.0.0.1:8080 (see README.md)"
# in the background and waited for, so that a signal to this script stops it too
"$foyer" -c "$here/foyer.lua" &
pids="$pids $!"
wait $!
