#!/usr/bin/env bash
# bench/soak.sh: foyer for DURATION seconds under mixed traffic with a reload
# every RELOAD_EVERY seconds, its memory and fds sampled all along.
#
#   bench/soak.sh                      # 10 minutes
#   DURATION=60 bench/soak.sh          # a quick look
#
# foyer (the build in this tree, WORKERS workers) proxies to two origins
# (foyer-test-backend A and B). The traffic, all at once:
#   wrk        keep-alive GETs of /size/SIZE (WRK_CONNS connections, 1 thread)
#   bench/reload_load.py  keep-alive (KA), new-connection (NEWCONN), 1 MiB
#              upload (UPLOAD) and WebSocket (WS) clients, each answer
#              checked; it also does the reloads: the route set alternates
#              between A and B every RELOAD_EVERY seconds (SIGHUP).
# Every SAMPLE_EVERY seconds, the RSS and the open fds of the master and of
# each worker are sampled. Printed and written to RESULTS/soak-latest.txt:
# the first and last samples and the maxima, the failed requests by kind,
# WebSocket cuts, wrk's figures, worker restarts and foyer's log problems.
#
# Environment: DURATION (600 s) RELOAD_EVERY (30) SAMPLE_EVERY (10) WORKERS
# (2) WRK_CONNS (16) KA (4) NEWCONN (2) UPLOAD (1) WS (1) SIZE (1024) FOYER
# BACKEND PROXY_CPU (0) LOAD_CPU (1) RESULTS (bench/results) KEEP_TMP=1.
set -euo pipefail

DURATION=${DURATION:-600}
RELOAD_EVERY=${RELOAD_EVERY:-30}
SAMPLE_EVERY=${SAMPLE_EVERY:-10}
WORKERS=${WORKERS:-2}
WRK_CONNS=${WRK_CONNS:-16}
KA=${KA:-4}
NEWCONN=${NEWCONN:-2}
UPLOAD=${UPLOAD:-1}
WS=${WS:-1}
SIZE=${SIZE:-1024}

case ${1:-} in
-h | --help) sed -n '2,22s/^# \{0,1\}//p' "$0"; exit 0 ;;
"") ;;
*) sed -n '2,22s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RESULTS=${RESULTS:-$BENCH_DIR/results}
APP_HOST=app.example
# shellcheck disable=SC2034 # read by lib.sh's wait_http
HOST_HEADER=$APP_HOST

bench_setup
mkdir -p "$RESULTS"
[ -x "$FOYER" ] || die "foyer not built: $FOYER (make)"
[ -x "$BACKEND" ] || die "backend $BACKEND not found (make check builds it)"

declare -A OPORT
for o in A B; do
	start_bg "origin$o" "$LOAD_CPU" "$BACKEND" --listen 127.0.0.1:0 --name "$o"
	for ((i = 0; i < 100; i++)); do
		OPORT[$o]=$(head -n 1 "$T/origin$o.out" | grep -oE '[0-9]+$' || true)
		[ -n "${OPORT[$o]}" ] && break
		sleep 0.1
	done
	[ -n "${OPORT[$o]}" ] || die "origin $o printed no port"
done

port=$(free_port)
foyer_set() { # SET (a or b)
	cat <<EOF
listen "127.0.0.1:$port"
set { workers = $WORKERS, access_log = false, keepalive_timeout = 300 }
service "a" { endpoints = { "127.0.0.1:${OPORT[A]}" } }
service "b" { endpoints = { "127.0.0.1:${OPORT[B]}" } }
route(function(req) return "$1" end)
EOF
}
foyer_set a >"$T/set-a"
foyer_set b >"$T/set-b"
cp "$T/set-a" "$T/foyer.lua"
start_bg foyer "$PROXY_CPU" "$FOYER" -c "$T/foyer.lua"
FPID=$LAST_PID
wait_http "$port" "$FPID" foyer || die "foyer did not start"
workers0=$($PY "$BENCH_DIR/proxycpu.py" pids "$FPID" | tail -n +2 | tr '\n' ' ')
log "soak: foyer pid $FPID (workers $workers0) on 127.0.0.1:$port, ${DURATION} s," \
	"a reload every ${RELOAD_EVERY} s"

# Samples: "t pid role rss_kib fds" lines.
sample() {
	local t=$1 p role
	for p in $($PY "$BENCH_DIR/proxycpu.py" pids "$FPID"); do
		role=worker
		[ "$p" = "$FPID" ] && role=master
		[ -r "/proc/$p/status" ] || continue
		printf '%s %s %s %s %s\n' "$t" "$p" "$role" \
			"$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)" \
			"$(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
	done
}
# Under load only: at SAMPLE_EVERY, 2 x SAMPLE_EVERY, ... before DURATION.
sampler() {
	local t0 k
	t0=$(date +%s)
	for ((k = SAMPLE_EVERY; k < DURATION; k += SAMPLE_EVERY)); do
		while [ $(($(date +%s) - t0)) -lt "$k" ]; do sleep 0.2; done
		sample "$k" >>"$T/samples"
	done
}

start_bg wrk "$LOAD_CPU" wrk -t 1 -c "$WRK_CONNS" -d "${DURATION}s" --latency \
	-H "Host: $APP_HOST" "http://127.0.0.1:$port/size/$SIZE"
WPID=$LAST_PID

reloads=$((DURATION / RELOAD_EVERY - 1))
[ "$reloads" -ge 1 ] || reloads=1
tail_s=$((DURATION - RELOAD_EVERY * reloads))
[ "$tail_s" -ge 1 ] || tail_s=1
start_bg load "$LOAD_CPU" "$PY" "$BENCH_DIR/reload_load.py" --port "$port" --out "$T/load.json" \
	--label soak --signal HUP --pid "$FPID" --live "$T/foyer.lua" --set-a "$T/set-a" \
	--set-b "$T/set-b" --host "$APP_HOST" --reloads "$reloads" --interval "$RELOAD_EVERY" \
	--warmup "$RELOAD_EVERY" --tail "$tail_s" --ka "$KA" --newconn "$NEWCONN" \
	--upload "$UPLOAD" --ws "$WS" --size "$SIZE" --deadline $((DURATION + 120))
LPID=$LAST_PID
: >"$T/samples"
sampler &
SPID=$!
BENCH_PIDS+=("$SPID")

wait "$LPID" || warn "the load client failed: $(tail -n 5 "$T/load.err")"
forget_pid "$LPID"
wait "$WPID" || warn "wrk failed: $(tail -n 5 "$T/wrk.err")"
forget_pid "$WPID"
wait "$SPID" 2>/dev/null || true
forget_pid "$SPID"
alive=1
kill -0 "$FPID" 2>/dev/null || alive=0
workers1=$($PY "$BENCH_DIR/proxycpu.py" pids "$FPID" | tail -n +2 | tr '\n' ' ')
stop_pid "$FPID"

out=$RESULTS/soak-latest.txt
$PY - "$T" "$alive" "$workers0" "$workers1" "$DURATION" "$RELOAD_EVERY" "$WORKERS" \
	>"$out" <<'EOF'
import json, os, re, sys, time
T, alive, w0, w1, duration, every, workers = sys.argv[1:8]
rows = [l.split() for l in open(os.path.join(T, "samples")) if l.strip()]
times = sorted({int(r[0]) for r in rows})
def at(t, role):
    rs = [r for r in rows if int(r[0]) == t and r[2] == role]
    return sum(int(r[3]) for r in rs), sum(int(r[4]) for r in rs), len(rs)
print(f"foyer soak, {time.strftime('%Y-%m-%d %H:%M:%S')}: {duration} s, {workers} workers, "
      f"a reload every {every} s; samples under load from {times[0]} s to {times[-1]} s")
if not times:
    sys.exit("no samples")
print(f"{'':22}{'start':>10}{'end':>10}{'max':>10}")
for role in ("worker", "master"):
    rss = [at(t, role)[0] for t in times]
    fds = [at(t, role)[1] for t in times]
    label = "workers (sum)" if role == "worker" else "master"
    print(f"{label + ' RSS KiB':22}{rss[0]:>10}{rss[-1]:>10}{max(rss):>10}")
    print(f"{label + ' fds':22}{fds[0]:>10}{fds[-1]:>10}{max(fds):>10}")
load = json.load(open(os.path.join(T, "load.json"))) if os.path.exists(os.path.join(T, "load.json")) else {}
rel = load.get("reloads", [])
print(f"reloads: {load.get('reloads_done', 0)} done, {load.get('reloads_not_seen', '?')} not seen; "
      f"new set seen after median {load.get('seen_ms_median', '?')} ms, max {load.get('seen_ms_max', '?')} ms")
kinds = load.get("kinds", {})
print("checked clients: " + ", ".join(f"{k} {v.get('ok', 0)} ok / {v.get('failed', 0)} failed"
                                      for k, v in sorted(kinds.items())))
print(f"failed requests: {load.get('failed_requests', '?')}, WebSocket cuts: {load.get('ws_cuts', '?')}")
for f in load.get("failures", [])[:5]:
    print(f"  failure: {f}")
wrk = open(os.path.join(T, "wrk.out")).read() if os.path.exists(os.path.join(T, "wrk.out")) else ""
m = re.search(r"(\d+) requests in ([\d.]+\w+)", wrk)
rps = re.search(r"Requests/sec:\s*([\d.]+)", wrk)
errs = re.search(r"Socket errors:.*", wrk)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)
p99 = re.search(r"99%\s+(\S+)", wrk)
print(f"wrk keep-alive GETs: {m.group(1) if m else '?'} requests, {rps.group(1) if rps else '?'} req/s, "
      f"p99 {p99.group(1) if p99 else '?'}, non-2xx {non2xx.group(1) if non2xx else 0}, "
      f"{errs.group(0) if errs else 'no socket errors'}")
print(f"foyer alive at the end: {'yes' if alive == '1' else 'NO'}; workers {w0.strip()} -> {w1.strip()}"
      f" ({'same' if w0.split() == w1.split() else 'RESTARTED'})")
err = open(os.path.join(T, "foyer.err"), errors="replace").read().splitlines()
bad = [l for l in err if re.search(r"error|warn|crit|killed|restart", l, re.I)]
print(f"foyer log: {len(err)} lines, {len(bad)} errors or warnings")
for l in bad[:10]:
    print(f"  {l}")
print("timeline (s, workers RSS KiB, workers fds, master fds):")
for t in times:
    print(f"  {t:>5} {at(t, 'worker')[0]:>8} {at(t, 'worker')[1]:>6} {at(t, 'master')[1]:>6}")
EOF
cat "$out"
log "soak: written to $out"
