#!/usr/bin/env bash
# foyer benchmark: wrk against the backend directly, through foyer, nginx and
# HAProxy (1 worker each, upstream keep-alive, access log off), the proxy
# pinned to one CPU and wrk + backend to the other; several rounds,
# interleaved, medians.  See bench/README.md.
#
#   bench/run.sh [--foyer PATH] [--backend PATH|nginx] [--rounds N] [--duration S]
#                [--targets "backend foyer nginx haproxy"] [--workloads "..."]
#
# Environment (same meaning as the options): FOYER BACKEND ROUNDS DURATION
# TARGETS WORKLOADS, and WARMUP (s, 1), CONNS (50), CONNS_HIGH (400),
# WRK_THREADS (1), POST_PATH (/sink), PROXY_CPU (0), LOAD_CPU (1),
# FOYER_SET (extra foyer set{} keys), RESULTS (bench/results), KEEP_TMP=1.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
TARGETS=${TARGETS:-backend foyer nginx haproxy}
WORKLOADS=${WORKLOADS:-get-50 get-400 get-16k get-1m close post-4k}
CONNS=${CONNS:-50}
CONNS_HIGH=${CONNS_HIGH:-400}
WRK_THREADS=${WRK_THREADS:-1}
POST_PATH=${POST_PATH:-/sink}

usage() { sed -n '2,14s/^# \{0,1\}//p' "$0"; }
while [ $# -gt 0 ]; do
	case $1 in
	--foyer) FOYER=$2; shift 2 ;;
	--backend) BACKEND=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--targets) TARGETS=$2; shift 2 ;;
	--workloads) WORKLOADS=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RESULTS=${RESULTS:-$BENCH_DIR/results}

# workload NAME: sets W_PATH W_CONNS W_CLOSE W_POST
workload() {
	W_CONNS=$CONNS W_CLOSE=0 W_POST=0
	case $1 in
	get-50) W_PATH=/size/100 ;;
	get-400) W_PATH=/size/100 W_CONNS=$CONNS_HIGH ;;
	get-16k) W_PATH=/size/16384 ;;
	get-1m) W_PATH=/size/1048576 ;;
	close) W_PATH=/size/100 W_CLOSE=1 ;;
	post-4k) W_PATH=$POST_PATH W_POST=4096 ;;
	*) die "unknown workload $1 (known: get-50 get-400 get-16k get-1m close post-4k)" ;;
	esac
}
for w in $WORKLOADS; do workload "$w"; done

bench_setup
mkdir -p "$RESULTS"
RAW=$T/runs.jsonl
: >"$RAW"
declare -A PORT PID DROPPED

start_backend
log "backend: 127.0.0.1:$BPORT (pid $BACKEND_PID, CPU $LOAD_CPU)"
# foyer-test-backend counts its connections and requests at GET /stats.
STATS_PORT=
[[ $(curl -s -m 2 "http://127.0.0.1:$BPORT/stats" 2>/dev/null || true) == conns=* ]] && STATS_PORT=$BPORT
ACTIVE=()
for t in $TARGETS; do
	case $t in
	backend)
		PORT[$t]=$BPORT PID[$t]=$BACKEND_PID
		ACTIVE+=("$t")
		;;
	foyer | nginx | haproxy)
		p=$(free_port)
		if start_proxy "$t" "$p" "$t"; then
			PORT[$t]=$p PID[$t]=$PROXY_PID
			ACTIVE+=("$t")
			log "$t: 127.0.0.1:$p (pid $PROXY_PID + $(($($PY "$BENCH_DIR/proxycpu.py" pids "$PROXY_PID" | wc -l) - 1)) children, CPU $PROXY_CPU)"
		else
			DROPPED[$t]="did not start"
			warn "$t left out of this run"
		fi
		;;
	*) die "unknown target $t" ;;
	esac
done

# Every target must answer each workload's request with the right size.
head -c 4096 /dev/zero | tr '\0' p >"$T/post.body"
check_target() {
	local t=$1 w out want
	for w in $WORKLOADS; do
		workload "$w"
		want=${W_PATH##*/}
		if [ "$W_POST" != 0 ]; then
			out=$(curl -s -o /dev/null -m 5 -w '%{http_code} %{size_download}' -H "Host: $HOST_HEADER" \
				--data-binary @"$T/post.body" "http://127.0.0.1:${PORT[$t]}$W_PATH") || true
		else
			out=$(curl -s -o /dev/null -m 5 -w '%{http_code} %{size_download}' -H "Host: $HOST_HEADER" \
				"http://127.0.0.1:${PORT[$t]}$W_PATH") || true
		fi
		case $want in *[!0-9]*) want=${out#* } ;; esac
		if [ "$out" != "200 $want" ]; then
			warn "$t: $w ($W_PATH) answered '$out', expected '200 $want'"
			return 1
		fi
	done
}
OK=()
for t in "${ACTIVE[@]}"; do
	if check_target "$t"; then OK+=("$t"); else DROPPED[$t]="wrong answers"; fi
done
ACTIVE=("${OK[@]}")
[ ${#ACTIVE[@]} -gt 0 ] || die "no target answers correctly"

# run_one ROUND WORKLOAD TARGET [OUT]
run_one() {
	local r=$1 w=$2 t=$3 out=${4:-$RAW}
	workload "$w"
	local args=(-t"$WRK_THREADS" -c"$W_CONNS" -d"$5" --timeout 10s --latency
		-s "$BENCH_DIR/report.lua" -H "Host: $HOST_HEADER")
	[ "$W_CLOSE" = 1 ] && args+=(-H "Connection: close")
	BENCH_POST_BYTES=$W_POST $PY "$BENCH_DIR/proxycpu.py" wrk --pid "${PID[$t]}" \
		--backend-pid "$BACKEND_PID" ${STATS_PORT:+--stats-port "$STATS_PORT"} --out "$out" --log "$T/wrk.log" \
		--meta round="$r" --meta workload="$w" --meta target="$t" --meta conns="$W_CONNS" \
		-- wrk "${args[@]}" "http://127.0.0.1:${PORT[$t]}$W_PATH"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$WARMUP" != 0 ]; then
	log "warm-up: ${WARMUP}s of get-50 per target"
	for t in "${ACTIVE[@]}"; do run_one 0 get-50 "$t" "$T/warmup.jsonl" "${WARMUP}s" >/dev/null; done
fi

n=${#ACTIVE[@]}
for ((r = 1; r <= ROUNDS; r++)); do
	log "round $r/$ROUNDS"
	for w in $WORKLOADS; do
		# Rotate the order of the targets each round so none is always first.
		for ((i = 0; i < n; i++)); do
			t=${ACTIVE[$(((i + r - 1) % n))]}
			[ -n "${DROPPED[$t]:-}" ] && continue
			run_one "$r" "$w" "$t" "$RAW" "${DURATION}s"
			if ! kill -0 "${PID[$t]}" 2>/dev/null; then
				DROPPED[$t]="died during $w, round $r"
				warn "$t died; stderr: $(tail -n 5 "$T/$t.err")"
			fi
			sleep 0.2
		done
	done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

stamp=$(date -u +%Y%m%dT%H%M%SZ)
meta=(--meta "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	--meta "host=$(uname -srm)"
	--meta "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	--meta "cpus=$(getconf _NPROCESSORS_ONLN)"
	--meta "rounds=$ROUNDS" --meta "duration_s=$DURATION" --meta "wrk_threads=$WRK_THREADS"
	--meta "proxy_cpu=$PROXY_CPU" --meta "load_cpu=$LOAD_CPU"
	--meta "loadavg_start=$LOAD_START" --meta "loadavg_end=$LOAD_END"
	--meta "targets=$TARGETS" --meta "workloads=$WORKLOADS" --meta "host_header=$HOST_HEADER")
for t in $TARGETS; do
	meta+=(--meta "version_$t=$(version_of "$t")")
	[ -n "${DROPPED[$t]:-}" ] && meta+=(--meta "dropped_$t=${DROPPED[$t]}")
done
$PY "$BENCH_DIR/report.py" --raw "$RAW" "${meta[@]}" \
	--txt "$RESULTS/latest.txt" --json "$RESULTS/latest.json"
cp "$RESULTS/latest.txt" "$RESULTS/run-$stamp.txt"
cp "$RESULTS/latest.json" "$RESULTS/run-$stamp.json"
cp "$T/wrk.log" "$RESULTS/latest.wrk.log"
log "written: $RESULTS/latest.txt $RESULTS/latest.json (and run-$stamp.*; wrk output in latest.wrk.log)"
