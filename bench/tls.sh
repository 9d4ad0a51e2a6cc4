#!/usr/bin/env bash
# foyer benchmark, TLS: foyer (plugin "tls"), nginx and HAProxy terminating
# TLS with the same certificates (an ECDSA P-256 and an RSA-2048 certificate
# for the same names, both loaded, the client's offer choosing), 1 worker
# each, pinned like bench/run.sh (proxy on PROXY_CPU, client and backend on
# LOAD_CPU), the same backend behind.
#
#   bench/tls.sh [--foyer PATH] [--rounds N] [--duration S] [-n N]
#                [--targets "foyer nginx haproxy"] [--workloads "..."]
#
# Workloads (bench/tls_load does the client side and counts resumptions):
#   full-ecdsa  a new connection per request: full TLS 1.3 handshake (X25519,
#               ECDSA signature), GET /size/100, Connection: close; sessions
#               are never offered, and the resumption count must be 0
#   full-rsa    the same with an RSA-2048 signature (RSA-PSS)
#   resumed     the same, each connection resuming the first one's session
#               (TLS 1.3 ticket); the resumption count must equal the count
#   keepalive   50 keep-alive HTTPS connections, GET /size/100 after GET
#   idle        memory: N (10,000) idle TLS connections, each after one GET;
#               worker RSS delta / connections
# The figure per workload is the proxy's CPU time (utime+stime of its
# process tree) per operation in microseconds, the median over rounds.
#
# Environment (same meaning as the options): FOYER ROUNDS (3) DURATION (5)
# N (10000) TARGETS WORKLOADS, CONNS (16 for handshakes, KA_CONNS 50 for
# keep-alive), PROXY_CPU (0), LOAD_CPU (1), RESULTS (bench/results), KEEP_TMP=1.
# Needs the built foyer, plugins/tls/.libs/tls.so and bench/tls_load (make),
# nginx, haproxy, openssl, curl, python3, taskset.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
N=${N:-10000}
TARGETS=${TARGETS:-foyer nginx haproxy}
WORKLOADS=${WORKLOADS:-full-ecdsa full-rsa resumed keepalive idle}
CONNS=${CONNS:-16}
KA_CONNS=${KA_CONNS:-50}

usage() { sed -n '2,32s/^# \{0,1\}//p' "$0"; }
while [ $# -gt 0 ]; do
	case $1 in
	--foyer) FOYER=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	-n) N=$2; shift 2 ;;
	--targets) TARGETS=$2; shift 2 ;;
	--workloads) WORKLOADS=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RESULTS=${RESULTS:-$BENCH_DIR/results}
LOAD=$BENCH_DIR/tls_load
TLS_SO=${TLS_SO:-$REPO/plugins/tls/.libs/tls.so}
HOST=www.example.test
SIG_ECDSA="ECDSA+SHA256"
SIG_RSA="RSA-PSS+SHA256:RSA-PSS+SHA384:RSA+SHA256"

[ -x "$LOAD" ] || die "$LOAD not built (make)"
[ -r "$TLS_SO" ] || die "$TLS_SO not built (make)"
command -v openssl >/dev/null || die "openssl not found"
hard=$(ulimit -Hn)
case " $WORKLOADS " in
*" idle "*)
	[ "$hard" = unlimited ] || [ "$hard" -ge $((N + 200)) ] ||
		die "N=$N idle connections need more than the hard open-files limit ($hard)"
	ulimit -n "$hard"
	;;
esac

bench_setup
mkdir -p "$RESULTS"
RAW=$T/tls.jsonl
: >"$RAW"

log "certificates (ECDSA P-256 and RSA-2048 for $HOST) in $T/certs"
sh "$REPO/tests/plugins/tls_certs.sh" "$T/certs" >/dev/null || die "making certificates failed"
C=$T/certs
cat "$C/www-ec.pem" "$C/www-ec.key" >"$C/haproxy-ec.pem"
cat "$C/www-rsa.pem" "$C/www-rsa.key" >"$C/haproxy-rsa.pem"

start_backend
log "backend: 127.0.0.1:$BPORT (pid $BACKEND_PID, CPU $LOAD_CPU)"

MOZ_CIPHERS="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"

# wait_https PORT PID NAME: until GET /size/100 over TLS answers 200 (10 s).
wait_https() {
	local port=$1 pid=$2 name=$3 i code=
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			warn "$name exited at start; its stderr:"
			tail -n 20 "$T/$name.err" >&2
			return 1
		fi
		code=$(curl -sk -o /dev/null -m 2 -w '%{http_code}' --resolve "$HOST:$port:127.0.0.1" \
			"https://$HOST:$port/size/100" 2>/dev/null) || true
		[ "$code" = 200 ] && return 0
		sleep 0.1
	done
	warn "$name did not answer 200 over TLS on 127.0.0.1:$port within 10 s; its stderr:"
	tail -n 20 "$T/$name.err" >&2
	return 1
}

start_tls_foyer() {
	local port=$1 name=$2 d=$T/$2
	mkdir -p "$d"
	cat >"$d/foyer.lua" <<EOF
set { workers = 1, access_log = false, keepalive_timeout = 300, client_header_timeout = 300 }
plugin "tls" { path = "$TLS_SO" }
listen { "127.0.0.1:$port", tls = { certificates = {
  { cert = "$C/www-ec.pem", key = "$C/www-ec.key" },
  { cert = "$C/www-rsa.pem", key = "$C/www-rsa.key" } } } }
service "app" { endpoints = { "127.0.0.1:$BPORT" } }
route(function(req)
  if req.host == "vincentpizza.com" then
    if req.path:find("^/menu/") then return "app" end
  end
  return "app"
end)
EOF
	start_bg "$name" "$PROXY_CPU" "$FOYER" -c "$d/foyer.lua"
	PROXY_PID=$LAST_PID
	wait_https "$port" "$PROXY_PID" "$name"
}

start_tls_nginx() {
	local port=$1 name=$2 d=$T/$2
	mkdir -p "$d/tmp"
	cat >"$d/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process on;
$(nginx_user_line)
pid $d/nginx.pid;
error_log $d/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 16384; }
http {
  access_log off;
$(nginx_paths "$d")
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_header_timeout 300s;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_ciphers $MOZ_CIPHERS;
  ssl_prefer_server_ciphers off;
  ssl_session_cache shared:SSL:10m;
  ssl_session_timeout 300s;
  upstream app {
    server 127.0.0.1:$BPORT;
    keepalive 1024;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:$port ssl backlog=4096;
    ssl_certificate $C/www-ec.pem;
    ssl_certificate_key $C/www-ec.key;
    ssl_certificate $C/www-rsa.pem;
    ssl_certificate_key $C/www-rsa.key;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$host;
    }
  }
}
EOF
	start_bg "$name" "$PROXY_CPU" "$NGINX" -p "$d/" -c "$d/nginx.conf" -e "$d/error.log"
	PROXY_PID=$LAST_PID
	wait_https "$port" "$PROXY_PID" "$name"
}

start_tls_haproxy() {
	local port=$1 name=$2 d=$T/$2
	mkdir -p "$d"
	cat >"$d/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 12000
  no strict-limits
  ssl-default-bind-ciphers $MOZ_CIPHERS
  ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
  ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
  mode http
  option http-keep-alive
  http-reuse always
  maxconn 12000
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-request 300s
  timeout http-keep-alive 300s

frontend fe
  bind 127.0.0.1:$port ssl crt $C/haproxy-ec.pem crt $C/haproxy-rsa.pem alpn http/1.1
  option forwardfor
  http-request set-header X-Forwarded-Proto https
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  default_backend app

backend app
  server app1 127.0.0.1:$BPORT
EOF
	start_bg "$name" "$PROXY_CPU" "$HAPROXY" -db -f "$d/haproxy.cfg"
	PROXY_PID=$LAST_PID
	wait_https "$port" "$PROXY_PID" "$name"
}

start_tls_proxy() {
	case $1 in
	foyer) start_tls_foyer "$2" "$3" ;;
	nginx) start_tls_nginx "$2" "$3" ;;
	haproxy) start_tls_haproxy "$2" "$3" ;;
	*) die "unknown target $1" ;;
	esac
}

cpu_ticks() { # PID: utime+stime of the tree, clock ticks
	$PY "$BENCH_DIR/proxycpu.py" ticks "$1" | awk '{print $1 + $2}'
}

worker_rss() { # TARGET PID: RSS (KiB) of the worker processes
	if [ "$1" = haproxy ]; then
		$PY "$BENCH_DIR/proxycpu.py" rss "$2"
	else
		$PY "$BENCH_DIR/proxycpu.py" rss --children "$2"
	fi
}

# run_load ROUND WORKLOAD TARGET PORT PID: one tls_load run, one JSON record.
run_load() {
	local r=$1 w=$2 t=$3 port=$4 pid=$5 args t0 t1 out
	case $w in
	full-ecdsa) args=(--mode full --conns "$CONNS" --sigalgs "$SIG_ECDSA") ;;
	full-rsa) args=(--mode full --conns "$CONNS" --sigalgs "$SIG_RSA") ;;
	resumed) args=(--mode resume --conns "$CONNS" --sigalgs "$SIG_ECDSA") ;;
	keepalive) args=(--mode keepalive --conns "$KA_CONNS") ;;
	*) die "unknown workload $w" ;;
	esac
	t0=$(cpu_ticks "$pid")
	out=$(timeout $((DURATION + 30)) "$LOAD" --port "$port" --host "$HOST" --duration "$DURATION" \
		"${args[@]}" 2>&1) || true
	sleep 0.5 # connection teardown is the proxy's work too
	t1=$(cpu_ticks "$pid")
	$PY - "$r" "$w" "$t" "$t0" "$t1" "$(getconf CLK_TCK)" "$out" >>"$RAW" <<'EOF'
import json, sys
r, w, t, t0, t1, hz, out = sys.argv[1:]
kv = dict(p.split("=", 1) for p in out.split() if "=" in p)
ops = int(kv.get("ops", 0))
rec = {"round": int(r), "workload": w, "target": t, "ops": ops,
       "errors": int(kv.get("errors", -1)), "handshakes": int(kv.get("handshakes", 0)),
       "reused": int(kv.get("reused", 0)), "rate": float(kv.get("rate", 0)),
       "cpu_ticks": int(t1) - int(t0), "raw": out.strip()}
rec["cpu_us_per_op"] = (int(t1) - int(t0)) * 1e6 / int(hz) / ops if ops else None
print(json.dumps(rec, sort_keys=True))
EOF
	tail -n 1 "$RAW" | $PY -c 'import json,sys; r=json.load(sys.stdin); print("  %-10s %-8s %8.0f/s  %7s us/op  handshakes %6d  reused %6d  errors %d" % (r["workload"], r["target"], r["rate"], "%.1f" % r["cpu_us_per_op"] if r["cpu_us_per_op"] else "-", r["handshakes"], r["reused"], r["errors"]))' >&2
}

# measure_idle ROUND TARGET: N idle TLS connections, RSS per connection.
measure_idle() {
	local r=$1 t=$2 name=$2-idle-$1 port pid base cur prev i cpid out
	port=$(free_port)
	start_tls_proxy "$t" "$port" "$name" || {
		printf '{"round": %s, "workload": "idle", "target": "%s", "error": "did not start"}\n' "$r" "$t" >>"$RAW"
		return 0
	}
	pid=$PROXY_PID
	timeout 30 "$LOAD" --port "$port" --host "$HOST" --mode full --conns 4 --duration 1 >/dev/null 2>&1 || true
	sleep 0.5
	base=$(worker_rss "$t" "$pid")
	out=$T/idle-$name.out
	"$LOAD" --port "$port" --host "$HOST" --mode idle -n "$N" --window 100 --hold 120 \
		--sigalgs "$SIG_ECDSA" --release-file "$T/release-$name" >"$out" 2>&1 &
	cpid=$!
	BENCH_PIDS+=("$cpid")
	for ((i = 0; i < 1300; i++)); do
		grep -q '^ready' "$out" && break
		kill -0 "$cpid" 2>/dev/null || break
		sleep 0.1
	done
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
	stop_pid "$pid"
	$PY - "$r" "$t" "$N" "$base" "$cur" "$(cat "$out")" >>"$RAW" <<'EOF'
import json, sys
r, t, n, base, after, out = sys.argv[1:]
kv = dict(p.split("=", 1) for p in out.split() if "=" in p)
alive = int(kv.get("alive", 0))
rec = {"round": int(r), "workload": "idle", "target": t, "n": int(n), "ok": int(kv.get("ok", 0)),
       "alive": alive, "rss_before_kib": int(base), "rss_after_kib": int(after)}
rec["kib_per_conn"] = (int(after) - int(base)) / alive if alive else None
print(json.dumps(rec, sort_keys=True))
EOF
	tail -n 1 "$RAW" | $PY -c 'import json,sys; r=json.load(sys.stdin); print("  idle       %-8s before %7s KiB  after %7s KiB  alive %5s/%s  -> %s KiB/conn" % (r["target"], r["rss_before_kib"], r["rss_after_kib"], r["alive"], r["n"], "%.2f" % r["kib_per_conn"] if r["kib_per_conn"] else "-"))' >&2
}

declare -A PORT PID
LOADS=()
for w in $WORKLOADS; do [ "$w" = idle ] || LOADS+=("$w"); done
if [ ${#LOADS[@]} -gt 0 ]; then
	for t in $TARGETS; do
		p=$(free_port)
		if start_tls_proxy "$t" "$p" "$t"; then
			PORT[$t]=$p PID[$t]=$PROXY_PID
			log "$t: https://127.0.0.1:$p (pid $PROXY_PID, CPU $PROXY_CPU)"
			timeout 30 "$LOAD" --port "$p" --host "$HOST" --mode keepalive --conns 8 --duration 1 \
				>/dev/null 2>&1 || true
		else
			warn "$t did not start: skipped"
		fi
	done
	for ((r = 1; r <= ROUNDS; r++)); do
		log "round $r/$ROUNDS"
		for w in "${LOADS[@]}"; do
			for t in $TARGETS; do
				[ -n "${PORT[$t]:-}" ] || continue
				run_load "$r" "$w" "$t" "${PORT[$t]}" "${PID[$t]}"
			done
		done
	done
	for t in $TARGETS; do [ -n "${PID[$t]:-}" ] && stop_pid "${PID[$t]}"; done
fi
case " $WORKLOADS " in
*" idle "*)
	for ((r = 1; r <= ROUNDS && r <= 1; r++)); do
		for t in $TARGETS; do measure_idle "$r" "$t"; done
	done
	;;
esac

stamp=$(date -u +%Y%m%dT%H%M%SZ)
$PY "$BENCH_DIR/tls_report.py" "$RAW" "$RESULTS/tls-latest.txt" "$RESULTS/tls-latest.json" "$TARGETS" \
	"$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$(uname -srm)" "$ROUNDS" "$DURATION" \
	"$(version_of foyer)" "$(version_of nginx)" "$(version_of haproxy)" "$(openssl version)"
cp "$RESULTS/tls-latest.txt" "$RESULTS/tls-$stamp.txt"
cp "$RESULTS/tls-latest.json" "$RESULTS/tls-$stamp.json"
log "written: $RESULTS/tls-latest.txt $RESULTS/tls-latest.json"
