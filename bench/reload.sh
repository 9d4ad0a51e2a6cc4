#!/usr/bin/env bash
# bench/reload.sh: reload under load, foyer vs nginx vs HAProxy configured
# alike (1 worker, upstream keep-alive).  For each proxy in turn:
# bench/reload_load.py runs keep-alive, new-connection, 1 MiB upload and
# WebSocket clients while the proxy is reloaded RELOADS times, the route set
# alternating between A (every request to origin A) and B (to origin B):
#   foyer    kill -HUP master
#   nginx    nginx -s reload
#   HAProxy  master-worker mode (-W), kill -USR2 master
# and counts failed requests per client kind, WebSocket cuts, how long after
# each reload new connections see the new route set, and the workers' RSS.
# See bench/README.md, "bench/reload.sh".
#
#   bench/reload.sh                          # 50 reloads per proxy, about 2.5 min
#   RELOADS=6 INTERVAL=0.5 bench/reload.sh   # quick look
#
# Environment: FOYER TARGETS ("foyer nginx haproxy") RELOADS (50) INTERVAL
# (0.6 s between reloads) WARMUP (3 s) TAIL (1 s) KA (8) NEWCONN (4) UPLOAD (2)
# WS (1) KA_THINK_MS (10) SIZE (1024) UPLOAD_BYTES (1048576) TIME_LIMIT (900 s)
# PROXY_CPU (0) LOAD_CPU (1) RESULTS (bench/results) KEEP_TMP=1.
set -euo pipefail

TARGETS=${TARGETS:-foyer nginx haproxy}
RELOADS=${RELOADS:-50}
INTERVAL=${INTERVAL:-0.6}
WARMUP=${WARMUP:-3}
TAIL=${TAIL:-1}
KA=${KA:-8}
NEWCONN=${NEWCONN:-4}
UPLOAD=${UPLOAD:-2}
WS=${WS:-1}
KA_THINK_MS=${KA_THINK_MS:-10}
SIZE=${SIZE:-1024}
UPLOAD_BYTES=${UPLOAD_BYTES:-1048576}
TIME_LIMIT=${TIME_LIMIT:-900}

case ${1:-} in
-h | --help) sed -n '2,21s/^# \{0,1\}//p' "$0"; exit 0 ;;
"") ;;
*) sed -n '2,21s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RESULTS=${RESULTS:-$BENCH_DIR/results}
APP_HOST=app.example

bench_setup
mkdir -p "$RESULTS"
(sleep "$TIME_LIMIT" && log "reload: TIME_LIMIT ($TIME_LIMIT s) reached, stopping" && kill -TERM $$) 2>/dev/null &
BENCH_PIDS+=("$!")

# Two origins: A and B (foyer-test-backend --name, so every answer says which).
declare -A OPORT
[ -x "$BACKEND" ] || die "backend $BACKEND not found (make)"
for o in A B; do
	start_bg "origin$o" "$LOAD_CPU" "$BACKEND" --listen 127.0.0.1:0 --name "$o"
	opid=$LAST_PID
	for ((i = 0; i < 100; i++)); do
		OPORT[$o]=$(head -n 1 "$T/origin$o.out" | grep -oE '[0-9]+$' || true)
		[ -n "${OPORT[$o]}" ] && break
		kill -0 "$opid" 2>/dev/null || die "origin $o exited: $(tail -n 5 "$T/origin$o.err")"
		sleep 0.1
	done
	[ -n "${OPORT[$o]}" ] || die "origin $o printed no port"
done
log "origins: A 127.0.0.1:${OPORT[A]}, B 127.0.0.1:${OPORT[B]} (CPU $LOAD_CPU)"

# Route set S (a or b): every request of Host app.example to origin S; the
# foyer sets are routers (foyer.router), so each reload compiles one.
foyer_set() { # DIR PORT S
	local s=$3
	cat <<EOF
set { workers = 1, access_log = false${FOYER_SET:+, $FOYER_SET} }
listen "127.0.0.1:$2"
service "a" { endpoints = { "127.0.0.1:${OPORT[A]}" } }
service "b" { endpoints = { "127.0.0.1:${OPORT[B]}" } }
local router = require "foyer.router"
route(router.new {
  default = "$s",
  routes = {
    { host = "$APP_HOST", rules = {
      { path = "/ws", service = "$s" },
      { path = "/sink", service = "$s" },
      { path = "/size", service = "$s" },
      { path = "/probe", service = "$s" },
      { service = "$s" },
    } },
  },
})
EOF
}

nginx_set() { # DIR PORT S
	local d=$1 s=$3
	cat <<EOF
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
  client_max_body_size 16m;
  upstream a { server 127.0.0.1:${OPORT[A]}; keepalive 64; keepalive_requests 1000000; }
  upstream b { server 127.0.0.1:${OPORT[B]}; keepalive 64; keepalive_requests 1000000; }
  map \$http_upgrade \$connection_upgrade { default upgrade; '' ""; }
  server {
    listen 127.0.0.1:$2 backlog=4096;
    proxy_http_version 1.1;
    proxy_set_header Host \$http_host;
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_set_header X-Forwarded-Host \$host;
    location / {
      proxy_pass http://$s;
      proxy_set_header Connection "";
    }
    location /ws {
      proxy_pass http://$s;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
    }
  }
}
EOF
}

haproxy_set() { # DIR PORT S
	local d=$1 s=$3
	cat <<EOF
global
  nbthread 1
  maxconn 4000
  no strict-limits
  # the listening sockets pass from the old worker to the new one
  stats socket $d/admin.sock mode 600 level admin expose-fd listeners

defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-request 300s
  timeout http-keep-alive 300s
  timeout tunnel 3600s

frontend fe
  bind 127.0.0.1:$2
  option forwardfor
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  default_backend $s

backend a
  server a1 127.0.0.1:${OPORT[A]}

backend b
  server b1 127.0.0.1:${OPORT[B]}
EOF
}

# wait_app NAME PORT PID: until GET /probe answers 200 from origin A.
wait_app() {
	local name=$1 port=$2 pid=$3 i got=
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || {
			warn "$name exited at start: $(tail -n 10 "$T/$name.err")"
			return 1
		}
		got=$(curl -s -m 2 -H "Host: $APP_HOST" "http://127.0.0.1:$port/probe" 2>/dev/null || true)
		[[ $got == "A GET /probe"* ]] && return 0
		sleep 0.1
	done
	warn "$name: GET /probe did not answer from origin A within 20 s (last: $got)"
	return 1
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
OUTS=()
for t in $TARGETS; do
	d=$T/$t
	mkdir -p "$d/tmp"
	port=$(free_port)
	case $t in
	foyer) live=$d/foyer.lua ;;
	nginx) live=$d/nginx.conf ;;
	haproxy) live=$d/haproxy.cfg ;;
	*) die "unknown target $t" ;;
	esac
	"${t}_set" "$d" "$port" a >"$d/set-a"
	"${t}_set" "$d" "$port" b >"$d/set-b"
	cp "$d/set-a" "$live"
	case $t in
	foyer) start_bg "$t" "$PROXY_CPU" "$FOYER" -c "$live" ;;
	nginx) start_bg "$t" "$PROXY_CPU" "$NGINX" -p "$d/" -c "$live" -e "$d/error.log" ;;
	haproxy) start_bg "$t" "$PROXY_CPU" "$HAPROXY" -W -db -f "$live" ;;
	esac
	pid=$LAST_PID
	if ! wait_app "$t" "$port" "$pid"; then
		stop_pid "$pid"
		continue
	fi
	workers0=$($PY "$BENCH_DIR/proxycpu.py" pids "$pid" | tail -n +2 | tr '\n' ' ')
	log "$t: 127.0.0.1:$port (pid $pid, workers $workers0), $RELOADS reloads every $INTERVAL s under load"
	case $t in
	foyer) how=(--signal HUP --pid "$pid") ;;
	nginx) how=(--cmd "$NGINX -p $d/ -c $live -s reload") ;;
	haproxy) how=(--signal USR2 --pid "$pid") ;;
	esac
	budget=$($PY -c "print(int($WARMUP + $RELOADS * ($INTERVAL + 0.5) + $TAIL + 60))")
	timeout $((budget + 30)) "$PY" "$BENCH_DIR/reload_load.py" --port "$port" --out "$T/$t.json" \
		--label "$t" "${how[@]}" --live "$live" --set-a "$d/set-a" --set-b "$d/set-b" \
		--host "$APP_HOST" --reloads "$RELOADS" --interval "$INTERVAL" --warmup "$WARMUP" \
		--tail "$TAIL" --ka "$KA" --newconn "$NEWCONN" --upload "$UPLOAD" --ws "$WS" \
		--ka-think-ms "$KA_THINK_MS" --size "$SIZE" --upload-bytes "$UPLOAD_BYTES" \
		--rss-pid "$pid" --deadline "$budget" &
	# in the background, so that a signal to this script is handled at once
	lpid=$!
	BENCH_PIDS+=("$lpid")
	wait "$lpid" || warn "$t: the load client failed"
	forget_pid "$lpid"
	alive=1
	kill -0 "$pid" 2>/dev/null || alive=0
	workers1=$($PY "$BENCH_DIR/proxycpu.py" pids "$pid" | tail -n +2 | tr '\n' ' ')
	cp "$T/$t.err" "$d/stderr.txt" 2>/dev/null || true
	stop_pid "$pid"
	if [ -f "$T/$t.json" ]; then
		$PY - "$T/$t.json" "$alive" "$workers0" "$workers1" "$d/stderr.txt" <<'EOF'
import json, sys
p, alive, w0, w1, errf = sys.argv[1:6]
d = json.load(open(p))
d["alive_at_end"] = alive == "1"
d["workers_before"], d["workers_after"] = w0.split(), w1.split()
try:
    lines = open(errf, errors="replace").read().splitlines()
except OSError:
    lines = []
keys = ("error", "warn", "alert", "emerg", "crit", "killed", "restarting")
d["proxy_log_problems"] = [l for l in lines if any(k in l.lower() for k in keys)][:50]
d["proxy_log_problem_count"] = sum(1 for l in lines if any(k in l.lower() for k in keys))
json.dump(d, open(p, "w"), indent=1, sort_keys=True)
EOF
		OUTS+=("$T/$t.json")
		cp "$d/stderr.txt" "$T/$t.stderr.txt" 2>/dev/null || true
	fi
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
[ ${#OUTS[@]} -gt 0 ] || die "no proxy measured"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
$PY "$BENCH_DIR/reload_report.py" --txt "$RESULTS/reload-latest.txt" --json "$RESULTS/reload-latest.json" \
	--meta "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')" --meta "host=$(uname -srm)" \
	--meta "cpus=$(getconf _NPROCESSORS_ONLN)" --meta "reloads=$RELOADS" --meta "interval_s=$INTERVAL" \
	--meta "clients=ka $KA (think 0..$KA_THINK_MS ms, GET $SIZE B), newconn $NEWCONN, upload $UPLOAD x $UPLOAD_BYTES B, ws $WS" \
	--meta "loadavg_start=$LOAD_START" --meta "loadavg_end=$LOAD_END" \
	--meta "version_foyer=$(version_of foyer)" --meta "version_nginx=$(version_of nginx)" \
	--meta "foyer_binary=$FOYER, $(stat -c '%s bytes, built %y' "$FOYER" 2>/dev/null | cut -d. -f1), HEAD $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo ?)" \
	--meta "version_haproxy=$(version_of haproxy)" "${OUTS[@]}"
cp "$RESULTS/reload-latest.txt" "$RESULTS/reload-$stamp.txt"
cp "$RESULTS/reload-latest.json" "$RESULTS/reload-$stamp.json"
log "written: $RESULTS/reload-latest.txt .json (and reload-$stamp.*)"
