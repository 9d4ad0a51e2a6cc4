#!/usr/bin/env bash
# foyer benchmark, memory: worker RSS per client connection with N (10,000)
# connections, for foyer, nginx and HAProxy configured alike (bench/lib.sh):
#   idle  idle keep-alive connections, each after one complete request
#   half  connections holding half a request header
#         ("GET / HTTP/1.1\r\nHost: x\r\nX-A: " and nothing more)
# Each proxy is started fresh for each case; the figure is
# (worker RSS with the N connections open - RSS before) / connections alive.
#
#   bench/memory.sh [--foyer PATH] [--backend PATH|nginx] [-n N] [--rounds R]
#                   [--targets "foyer nginx haproxy"] [--modes "idle half"]
#
# Environment: FOYER BACKEND N ROUNDS (1) TARGETS MODES, WINDOW (100
# connections in progress at a time), STEP_TIMEOUT (60 s to open them all),
# HOLD (120 s at most holding them), FOYER_SET, RESULTS, KEEP_TMP=1.
set -euo pipefail

N=${N:-10000}
ROUNDS=${ROUNDS:-1}
TARGETS=${TARGETS:-foyer nginx haproxy}
MODES=${MODES:-idle half}
WINDOW=${WINDOW:-100}
STEP_TIMEOUT=${STEP_TIMEOUT:-60}
HOLD=${HOLD:-120}

usage() { sed -n '2,15s/^# \{0,1\}//p' "$0"; }
while [ $# -gt 0 ]; do
	case $1 in
	--foyer) FOYER=$2; shift 2 ;;
	--backend) BACKEND=$2; shift 2 ;;
	-n) N=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--targets) TARGETS=$2; shift 2 ;;
	--modes) MODES=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RESULTS=${RESULTS:-$BENCH_DIR/results}

hard=$(ulimit -Hn)
[ "$hard" = unlimited ] || [ "$hard" -ge $((N + 200)) ] ||
	die "N=$N connections need more than the hard open-files limit ($hard)"
ulimit -n "$hard"

bench_setup
mkdir -p "$RESULTS"
RAW=$T/memory.jsonl
: >"$RAW"
start_backend
log "backend: 127.0.0.1:$BPORT (pid $BACKEND_PID); N=$N, open-files limit $(ulimit -n)"

worker_rss() { # TARGET PID: RSS (KiB) of the worker processes
	if [ "$1" = haproxy ]; then
		$PY "$BENCH_DIR/proxycpu.py" rss "$2"
	else
		$PY "$BENCH_DIR/proxycpu.py" rss --children "$2"
	fi
}

# measure ROUND MODE TARGET: appends one JSON record to $RAW.
measure() {
	local r=$1 mode=$2 t=$3 name=$3-$2-$1 port pid base cur prev i cpid out ready done_line
	port=$(free_port)
	if ! start_proxy "$t" "$port" "$name"; then
		printf '{"round": %s, "mode": "%s", "target": "%s", "error": "did not start"}\n' \
			"$r" "$mode" "$t" >>"$RAW"
		return 0
	fi
	pid=$PROXY_PID
	# A few complete requests first, so that lazy set-up (upstream pool, Lua,
	# buffers) is in the baseline and not counted per connection.
	for i in 1 2 3; do
		curl -s -o /dev/null -m 5 -H "Host: $HOST_HEADER" "http://127.0.0.1:$port/size/100" || true
	done
	sleep 0.5
	base=$(worker_rss "$t" "$pid")

	out=$T/conns-$name.out
	$PY "$BENCH_DIR/conns.py" --port "$port" -n "$N" --mode "$mode" --path /size/100 \
		--host-header "$HOST_HEADER" --window "$WINDOW" --step-timeout "$STEP_TIMEOUT" \
		--hold "$HOLD" --release-file "$T/release-$name" >"$out" 2>"$T/conns-$name.err" &
	cpid=$!
	BENCH_PIDS+=("$cpid")
	for ((i = 0; i < (STEP_TIMEOUT + 10) * 10; i++)); do
		grep -q '^ready' "$out" && break
		kill -0 "$cpid" 2>/dev/null || break
		sleep 0.1
	done
	ready=$(grep '^ready' "$out" || echo "ready n=$N ok=0 failed=$N elapsed=-")
	# Let the proxy accept and read everything: wait until RSS stops moving.
	prev=-1
	for ((i = 0; i < 20; i++)); do
		sleep 0.5
		cur=$(worker_rss "$t" "$pid")
		[ "$cur" = "$prev" ] && break
		prev=$cur
	done
	touch "$T/release-$name"
	{ wait "$cpid"; } 2>/dev/null || true
	forget_pid "$cpid"
	done_line=$(grep '^done' "$out" || echo "done alive=0 closed_by_peer=0 unexpected_data=0")
	local alive=0
	kill -0 "$pid" 2>/dev/null && alive=1
	stop_pid "$pid"
	$PY - "$r" "$mode" "$t" "$N" "$base" "$cur" "$alive" "$ready" "$done_line" >>"$RAW" <<'EOF'
import json, sys
r, mode, t, n, base, after, up, ready, done = sys.argv[1:]
kv = {}
for part in (ready + " " + done).split():
    if "=" in part:
        k, v = part.split("=", 1)
        kv[k] = v
alive = int(kv.get("alive", 0))
rec = {"round": int(r), "mode": mode, "target": t, "n": int(n), "rss_before_kib": int(base),
       "rss_after_kib": int(after), "ok": int(kv.get("ok", 0)), "alive": alive,
       "closed_by_peer": int(kv.get("closed_by_peer", 0)),
       "unexpected_data": int(kv.get("unexpected_data", 0)),
       "open_s": kv.get("elapsed"), "proxy_survived": up == "1"}
rec["kib_per_conn"] = (int(after) - int(base)) / alive if alive else None
print(json.dumps(rec, sort_keys=True))
EOF
	tail -n 1 "$RAW" | $PY -c 'import json,sys; r=json.load(sys.stdin); print("  %-8s %-5s  before %7s KiB  after %7s KiB  alive %5s/%s  -> %s KiB/conn" % (r["target"], r["mode"], r["rss_before_kib"], r["rss_after_kib"], r["alive"], r["n"], "%.2f" % r["kib_per_conn"] if r["kib_per_conn"] is not None else "-"))' >&2
}

for ((r = 1; r <= ROUNDS; r++)); do
	for mode in $MODES; do
		for t in $TARGETS; do
			measure "$r" "$mode" "$t"
		done
	done
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
meta=(--meta "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')" --meta "host=$(uname -srm)"
	--meta "n=$N" --meta "rounds=$ROUNDS" --meta "proxy_cpu=$PROXY_CPU")
for t in $TARGETS; do meta+=(--meta "version_$t=$(version_of "$t")"); done
$PY "$BENCH_DIR/report.py" --memory --raw "$RAW" "${meta[@]}" \
	--txt "$RESULTS/memory-latest.txt" --json "$RESULTS/memory-latest.json"
cp "$RESULTS/memory-latest.txt" "$RESULTS/memory-$stamp.txt"
cp "$RESULTS/memory-latest.json" "$RESULTS/memory-$stamp.json"
log "written: $RESULTS/memory-latest.txt $RESULTS/memory-latest.json"
