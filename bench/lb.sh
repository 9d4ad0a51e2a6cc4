#!/usr/bin/env bash
# bench/lb.sh: the load-balancing plugin (plugins/lb).
#
#  1. The cost of one pick per policy, in ns, for pools of 4 to 256 endpoints
#     (bench/lb_pick, built by `make` from the policies' own sources).
#  2. End to end: foyer with lb.so in front of four origins, one of which
#     answers DELAY_MS late (bench/lb_slow_origin.py); per policy, wrk's
#     throughput and latency percentiles, the share of requests the slow
#     origin got, and the percentiles one sequential client measures while
#     wrk runs (bench/lb_probe.py: wrk's own figures include wrk's scheduling
#     delays on a shared CPU). p2c_ewma should keep p99 near the fast
#     origins' latency where round_robin sends every fourth request to the
#     slow one.
#
# Builds nothing: run `make` first. Starts everything on 127.0.0.1 ephemeral
# ports in one mktemp directory and stops exactly what it started (lib.sh).
#
# Environment (defaults in brackets):
#   DURATION    seconds of wrk per policy [5]
#   CONNS       wrk connections [16]
#   DELAY_MS    the slow origin's delay [50]
#   POLICIES    ["round_robin p2c_ewma least_conn"]
#   PICK_TIME   seconds per lb_pick case [0.2]; PICK_SIZES ["4 16 64 256"]
#   WORKERS     foyer workers [1]
#   RESULTS     result directory [bench/results]: lb-latest.txt and lb-DATE.txt
#   FOYER, BACKEND, PROXY_CPU, LOAD_CPU, KEEP_TMP as for run.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

DURATION=${DURATION:-5}
CONNS=${CONNS:-16}
DELAY_MS=${DELAY_MS:-50}
POLICIES=${POLICIES:-round_robin p2c_ewma least_conn}
PICK_TIME=${PICK_TIME:-0.2}
PICK_SIZES=${PICK_SIZES:-4 16 64 256}
WORKERS=${WORKERS:-1}
RESULTS=${RESULTS:-$REPO/bench/results}
LB_SO=${LB_SO:-$REPO/plugins/lb/.libs/lb.so}
LB_PICK=$REPO/bench/lb_pick

bench_setup
[ -x "$FOYER" ] || die "$FOYER not built: run make"
[ -r "$LB_SO" ] || die "$LB_SO not built: run make"
[ -x "$LB_PICK" ] || die "$LB_PICK not built: run make"
[ -x "$BACKEND" ] || die "$BACKEND not built: run make"
mkdir -p "$RESULTS"
OUT=$T/report.txt

# ---- 1. cost per pick ----------------------------------------------------------

{
	echo "## Cost of one pick (ns), bench/lb_pick -t $PICK_TIME"
	echo
	taskset -c "$PROXY_CPU" "$LB_PICK" -t "$PICK_TIME" -n "$PICK_SIZES"
	echo
} | tee "$OUT"

# ---- 2. end to end with one slow origin ------------------------------------------

# start_origin NAME: a foyer-test-backend; its port in LAST_PORT.
start_origin() {
	local i
	start_bg "$1" "$LOAD_CPU" "$BACKEND" --listen 127.0.0.1:0 --name "$1"
	for ((i = 0; i < 100; i++)); do
		LAST_PORT=$(head -n 1 "$T/$1.out" | grep -oE '[0-9]+$' || true)
		[ -n "$LAST_PORT" ] && break
		sleep 0.1
	done
	[ -n "$LAST_PORT" ] || die "$1 printed no port"
	wait_http "$LAST_PORT" "$LAST_PID" "$1" || die "$1 not answering"
}

# wrk's "99%  20.12ms" -> milliseconds.
wrk_ms() { # FILE PERCENT
	awk -v p="$2%" '$1 == p {
		v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
		m = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : (u == "m") ? v * 60000 : v
		printf "%.2f", m }' "$1"
}

FAST_PORTS=()
for i in 0 1 2; do
	start_origin "fast$i"
	FAST_PORTS+=("$LAST_PORT")
done
SLOW_PORT=$(free_port)
start_bg slow "$LOAD_CPU" "$PY" "$BENCH_DIR/lb_slow_origin.py" "$SLOW_PORT" "$DELAY_MS" slow
wait_http "$SLOW_PORT" "$LAST_PID" slow || die "the slow origin is not answering"

{
	echo "## One origin of four answers ${DELAY_MS} ms late: wrk -c $CONNS, ${DURATION} s, foyer workers = $WORKERS"
	echo
	printf '%-12s %10s %9s %9s %9s %11s   %-28s\n' policy req/s p50_ms p90_ms p99_ms slow_share \
		"one client: p50/p90/p99 ms"
} | tee -a "$OUT"

for policy in $POLICIES; do
	port=$(free_port)
	conf=$T/foyer-$policy.lua
	cat >"$conf" <<EOF
set { workers = $WORKERS, access_log = false }
listen "127.0.0.1:$port"
plugin "lb" { path = "$LB_SO" }
service "app" {
  endpoints = { "127.0.0.1:${FAST_PORTS[0]}", "127.0.0.1:${FAST_PORTS[1]}",
                "127.0.0.1:${FAST_PORTS[2]}", "127.0.0.1:$SLOW_PORT" },
  lb = "$policy",
}
route(function(req) return "app" end)
EOF
	start_bg "foyer-$policy" "$PROXY_CPU" "$FOYER" -c "$conf"
	fpid=$LAST_PID
	wait_http "$port" "$fpid" "foyer-$policy" || die "foyer ($policy) not answering"
	# Warm-up: the pools fill and p2c_ewma gets its first samples.
	taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$port/size/100" >/dev/null
	slow_before=$(curl -s -m 2 "http://127.0.0.1:$SLOW_PORT/__count")
	taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency --timeout 10s \
		-H "Host: app" "http://127.0.0.1:$port/size/100" >"$T/wrk-$policy.txt" &
	wrk_pid=$!
	sleep 0.2
	probe=$(taskset -c "$LOAD_CPU" "$PY" "$BENCH_DIR/lb_probe.py" "$port" "$((DURATION - 1))")
	wait "$wrk_pid"
	slow_after=$(curl -s -m 2 "http://127.0.0.1:$SLOW_PORT/__count")
	total=$(( $(awk '/requests in/ { print $1 }' "$T/wrk-$policy.txt") + $(echo "$probe" | awk '{ print $5 }') ))
	rps=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$T/wrk-$policy.txt")
	slow=$(awk -v t="$total" -v s=$((slow_after - slow_before)) 'BEGIN { printf "%.2f%%", t ? 100 * s / t : 0 }')
	printf '%-12s %10s %9s %9s %9s %11s   %-28s\n' "$policy" "$rps" "$(wrk_ms "$T/wrk-$policy.txt" 50)" \
		"$(wrk_ms "$T/wrk-$policy.txt" 90)" "$(wrk_ms "$T/wrk-$policy.txt" 99)" "$slow" \
		"$(echo "$probe" | awk '{ printf "%s / %s / %s (%d req)", $1, $2, $3, $5 }')" | tee -a "$OUT"
	grep -qE 'Non-2xx|Socket errors' "$T/wrk-$policy.txt" && warn "$policy: $(grep -E 'Non-2xx|Socket errors' "$T/wrk-$policy.txt")"
	stop_pid "$fpid"
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
{
	echo
	echo "($(uname -sr), $(getconf _NPROCESSORS_ONLN) CPUs, foyer on CPU $PROXY_CPU, wrk and origins on CPU $LOAD_CPU, $stamp)"
} | tee -a "$OUT"
cp "$OUT" "$RESULTS/lb-latest.txt"
cp "$OUT" "$RESULTS/lb-$stamp.txt"
log "bench: results in $RESULTS/lb-latest.txt"
