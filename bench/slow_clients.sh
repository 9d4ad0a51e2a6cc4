#!/usr/bin/env bash
# foyer benchmark, slow and idle clients: foyer, nginx and HAProxy with the
# same backend (bench/lib.sh) and the same client timeouts (TIMEOUT, 5 s),
# each abused in turn by
#   slowloris  200 connections sending a header byte every 200 ms
#   idle       2,000 keep-alive connections idle after one request
#   trickle    50 POST bodies: 10 bytes, a byte a second for 3 s, then nothing
#   nonreader  10 GETs of 16 MiB whose clients never read
# while a normal client (GET /size/100, 2 ms apart) measures p50/p99. Reports,
# per proxy and scenario, the normal client's latency, when the abusers were
# closed (and what they were sent first), and how many upstream connections
# the backend saw for them. About 2.5 min with the defaults.
#
#   bench/slow_clients.sh [--foyer PATH] [--targets "foyer nginx haproxy"]
#                         [--scenarios "slowloris idle trickle nonreader"]
#
# Environment: FOYER BACKEND TARGETS SCENARIOS TIMEOUT (5) RESULTS KEEP_TMP=1.
#
# The timeouts, alike on the three:
#   head      foyer client_header_timeout, nginx client_header_timeout,
#             HAProxy timeout http-request
#   body      foyer client_body_timeout, nginx client_body_timeout,
#             HAProxy timeout client (inactivity)
#   send      foyer client_send_timeout, nginx send_timeout, HAProxy timeout client
#   idle      foyer keepalive_timeout, nginx keepalive_timeout,
#             HAProxy timeout http-keep-alive
# nginx keeps its default request and response buffering (a trickled body is
# buffered before any upstream connection; a large response goes to a temp
# file), as it is usually deployed.
set -euo pipefail

TARGETS=${TARGETS:-foyer nginx haproxy}
SCENARIOS=${SCENARIOS:-slowloris idle trickle nonreader}
TIMEOUT=${TIMEOUT:-5}

usage() { sed -n '2,28s/^# \{0,1\}//p' "$0"; }
# shellcheck disable=SC2034 # FOYER and BACKEND are read by lib.sh
while [ $# -gt 0 ]; do
	case $1 in
	--foyer) FOYER=$2; shift 2 ;;
	--backend) BACKEND=$2; shift 2 ;;
	--targets) TARGETS=$2; shift 2 ;;
	--scenarios) SCENARIOS=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RESULTS=${RESULTS:-$BENCH_DIR/results}
HELPER=$BENCH_DIR/slow_clients.py

hard=$(ulimit -Hn)
[ "$hard" = unlimited ] || [ "$hard" -ge 4500 ] ||
	die "2,000 idle connections need a hard open-files limit of 4500 at least ($hard)"
ulimit -n "$hard"

# The peers (lib.sh's configurations) give clients the bench's timeouts.
CLIENT_TIMEOUT=$TIMEOUT

start_slow_proxy() { # TARGET PORT NAME
	case $1 in
	foyer)
		FOYER_SET="client_header_timeout = $TIMEOUT, client_body_timeout = $TIMEOUT, client_send_timeout = $TIMEOUT, keepalive_timeout = $TIMEOUT" \
			start_foyer "$2" "$3"
		;;
	nginx) start_nginx "$2" "$3" ;;
	haproxy) start_haproxy "$2" "$3" ;;
	*) die "unknown proxy $1" ;;
	esac
}

bench_setup
mkdir -p "$RESULTS"
start_backend
log "backend: 127.0.0.1:$BPORT (pid $BACKEND_PID); timeouts ${TIMEOUT}s; open-files limit $(ulimit -n)"
for t in $TARGETS; do log "$t: $(version_of "$t")"; done

files=()
for t in $TARGETS; do
	for s in $SCENARIOS; do
		# a fresh proxy per scenario: nothing left over from the previous one
		port=$(free_port)
		if ! start_slow_proxy "$t" "$port" "$t-$s"; then
			warn "$t did not start: skipped"
			continue
		fi
		log "$t: $s ..."
		out=$T/$t-$s.json
		if $PY "$HELPER" run --scenario "$s" --proxy "$t" --port "$port" \
			--backend-port "$BPORT" --timeout "$TIMEOUT" >"$out" \
			2>"$T/$t-$s.helper.err"; then
			files+=("$out")
		else
			warn "$t $s failed: $(tail -n 3 "$T/$t-$s.helper.err")"
		fi
		stop_pid "$PROXY_PID"
	done
done
[ ${#files[@]} -gt 0 ] || die "no scenario completed"

stamp=$(date +%Y%m%d-%H%M%S)
{
	echo "# bench/slow_clients.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ), timeouts ${TIMEOUT} s, load $(cut -d' ' -f1-3 /proc/loadavg)"
	for t in $TARGETS; do echo "# $t: $(version_of "$t")"; done
	echo
	$PY "$HELPER" report "${files[@]}"
} >"$RESULTS/slow-clients-$stamp.txt"
# shellcheck disable=SC2046
cat "${files[@]}" | $PY -c 'import json, sys; print(json.dumps([json.loads(l) for l in sys.stdin if l.strip()], indent=1))' \
	>"$RESULTS/slow-clients-$stamp.json"
cp "$RESULTS/slow-clients-$stamp.txt" "$RESULTS/slow-clients-latest.txt"
cp "$RESULTS/slow-clients-$stamp.json" "$RESULTS/slow-clients-latest.json"
cat "$RESULTS/slow-clients-latest.txt"
