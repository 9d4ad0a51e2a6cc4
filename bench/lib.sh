# bench/lib.sh: shared by bench/run.sh and bench/memory.sh (sourced, not run).
# shellcheck shell=bash
#
# Starts the backend and the three proxies (foyer, nginx, HAProxy) configured
# alike, keeps every file in one mktemp directory, and on exit stops exactly the
# processes it started (and their children).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
PY=${PYTHON:-python3}

FOYER=${FOYER:-$REPO/foyer}
# The origin: foyer-test-backend, or the word "nginx" for an nginx stand-in
# (static files under /size/N) when the backend is not built.
BACKEND=${BACKEND:-$REPO/tests/helpers/foyer-test-backend}
NGINX=${NGINX:-nginx}
HAPROXY=${HAPROXY:-haproxy}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
HOST_HEADER=${HOST_HEADER:-vincentpizza.com}
# Extra keys for foyer's set { } table, e.g. FOYER_SET='keepalive_timeout = 300',
# and extra configuration lines (e.g. a plugin) in FOYER_EXTRA.
FOYER_SET=${FOYER_SET:-}
# Seconds nginx and HAProxy give a client (idle keep-alive, head, body,
# sending): long, so memory.sh can hold idle and half-sent connections;
# bench/slow_clients.sh sets its own.
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-300}
# Response sizes the stand-in origin must serve.
ORIGIN_SIZES="100 4096 16384 1048576"

BENCH_PIDS=()
T=

log() { printf '%s\n' "$*" >&2; }
warn() { printf 'bench: warning: %s\n' "$*" >&2; }
die() {
	printf 'bench: %s\n' "$*" >&2
	exit 1
}

# Create the temp dir, install the cleanup trap, pin this shell (and so wrk,
# curl, the backend and the helpers it starts) to LOAD_CPU.
bench_setup() {
	local ncpu
	ncpu=$(getconf _NPROCESSORS_ONLN)
	if [ "$ncpu" -lt 2 ]; then
		warn "only $ncpu CPU: proxy, wrk and backend share it"
		PROXY_CPU=0 LOAD_CPU=0
	fi
	T=$(mktemp -d "${TMPDIR:-/tmp}/foyer-bench.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	taskset -cp "$LOAD_CPU" $$ >/dev/null || die "taskset failed"
	for t in curl wrk taskset "$PY"; do
		command -v "$t" >/dev/null || die "$t not found"
	done
}

bench_cleanup() {
	local pid
	trap - EXIT INT TERM HUP
	for pid in $(printf '%s\n' "${BENCH_PIDS[@]}" | tac); do
		stop_pid "$pid"
	done
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ "${KEEP_TMP:-0}" = 1 ]; then
			log "bench: temp files kept in $T"
		else
			rm -rf "$T"
		fi
	fi
}

# start_bg NAME CPU CMD... : run CMD in the background pinned to CPU, output
# in $T/NAME.out and $T/NAME.err; its PID in LAST_PID.
start_bg() {
	local name=$1 cpu=$2
	shift 2
	taskset -c "$cpu" "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null &
	LAST_PID=$!
	BENCH_PIDS+=("$LAST_PID")
}

# stop_pid PID: SIGTERM, up to 5 s grace, then SIGKILL to what is left of the
# process and of the descendants it had.
stop_pid() {
	local pid=$1 tree p i
	if kill -0 "$pid" 2>/dev/null; then
		tree=$($PY "$BENCH_DIR/proxycpu.py" pids "$pid" 2>/dev/null || echo "$pid")
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		for p in $tree; do
			kill -KILL "$p" 2>/dev/null || true
		done
	fi
	{ wait "$pid"; } 2>/dev/null || true
	forget_pid "$pid"
}

# forget_pid PID: a reaped process; its number may be reused by others.
forget_pid() {
	local i
	for i in "${!BENCH_PIDS[@]}"; do
		[ "${BENCH_PIDS[$i]}" = "$1" ] && unset 'BENCH_PIDS[i]'
	done
	return 0
}

free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http PORT PID NAME: until GET /size/100 answers 200 (10 s at most).
wait_http() {
	local port=$1 pid=$2 name=$3 i code
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			warn "$name exited at start; its stderr:"
			tail -n 20 "$T/$name.err" >&2
			return 1
		fi
		code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' -H "Host: $HOST_HEADER" \
			"http://127.0.0.1:$port/size/100" 2>/dev/null) || true
		[ "$code" = 200 ] && return 0
		sleep 0.1
	done
	warn "$name did not answer 200 on 127.0.0.1:$port/size/100 within 10 s (last: $code); its stderr:"
	tail -n 20 "$T/$name.err" >&2
	return 1
}

nginx_user_line() {
	# Workers of a root master switch to nobody, who cannot write the temp dir.
	[ "$(id -u)" = 0 ] && echo "user root;"
	return 0
}

nginx_paths() { # DIR
	cat <<EOF
  client_body_temp_path $1/tmp/client_body;
  proxy_temp_path $1/tmp/proxy;
  fastcgi_temp_path $1/tmp/fastcgi;
  uwsgi_temp_path $1/tmp/uwsgi;
  scgi_temp_path $1/tmp/scgi;
EOF
}

# The origin.  Sets BPORT and BACKEND_PID.
start_backend() {
	if [ "$BACKEND" = nginx ]; then
		start_origin_nginx
		return
	fi
	[ -x "$BACKEND" ] || die "backend $BACKEND not found: build it (make), or BACKEND=nginx for an nginx stand-in"
	local i
	start_bg backend "$LOAD_CPU" "$BACKEND" --listen 127.0.0.1:0 --name bench
	BACKEND_PID=$LAST_PID
	BPORT=
	for ((i = 0; i < 100; i++)); do
		BPORT=$(head -n 1 "$T/backend.out" | grep -oE '[0-9]+$' || true)
		[ -n "$BPORT" ] && break
		kill -0 "$BACKEND_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$BPORT" ] || die "backend printed no port; stderr: $(tail -n 5 "$T/backend.err")"
	wait_http "$BPORT" "$BACKEND_PID" backend || die "backend not answering"
}

# nginx as a stand-in origin: /size/N served from static files, POST /sink
# answered with a short body once the request body is read.
start_origin_nginx() {
	local d=$T/origin n
	mkdir -p "$d/tmp" "$d/root/size"
	for n in $ORIGIN_SIZES; do
		head -c "$n" /dev/zero | tr '\0' b >"$d/root/size/$n"
	done
	BPORT=$(free_port)
	cat >"$d/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
$(nginx_user_line)
pid $d/nginx.pid;
error_log $d/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
$(nginx_paths "$d")
  server {
    listen 127.0.0.1:$BPORT backlog=4096;
    root $d/root;
    location /size/ { default_type application/octet-stream; }
    location = /sink { return 200 "bytes=? sha=0000000000000000\\n"; }
  }
}
EOF
	start_bg backend "$LOAD_CPU" "$NGINX" -p "$d/" -c "$d/nginx.conf" -e "$d/error.log"
	BACKEND_PID=$LAST_PID
	wait_http "$BPORT" "$BACKEND_PID" backend || die "nginx stand-in origin not answering"
}

# start_foyer PORT NAME: sets PROXY_PID; returns 1 if it does not come up.
start_foyer() {
	local port=$1 name=$2 d=$T/$2
	mkdir -p "$d"
	cat >"$d/foyer.lua" <<EOF
set { workers = 1, access_log = false${FOYER_SET:+, $FOYER_SET} }
listen "127.0.0.1:$port"
service "app" { endpoints = { "127.0.0.1:$BPORT" } }
${FOYER_EXTRA:-}
route(function(req)
  if req.host == "vincentpizza.com" then
    if req.path:find("^/menu/") then return "app" end
  end
  return "app"
end)
EOF
	if [ ! -x "$FOYER" ]; then
		warn "foyer binary $FOYER not found (build it with make)"
		return 1
	fi
	start_bg "$name" "$PROXY_CPU" "$FOYER" -c "$d/foyer.lua"
	PROXY_PID=$LAST_PID
	wait_http "$port" "$PROXY_PID" "$name"
}

# start_nginx PORT NAME: nginx as the peer proxy, 1 worker. NGINX_MAIN_EXTRA
# and NGINX_SERVER_EXTRA add lines to the main context and the server block
# (a module and its directives: bench/waf_anchor.sh's ModSecurity).
start_nginx() {
	local port=$1 name=$2 d=$T/$2
	mkdir -p "$d/tmp"
	cat >"$d/nginx.conf" <<EOF
${NGINX_MAIN_EXTRA:-}
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
  # No per-connection request cap on either side (the 1.22 default is 1000).
  keepalive_requests 1000000;
  keepalive_timeout ${CLIENT_TIMEOUT}s;
  client_header_timeout ${CLIENT_TIMEOUT}s;
  client_body_timeout ${CLIENT_TIMEOUT}s;
  send_timeout ${CLIENT_TIMEOUT}s;
  upstream app {
    server 127.0.0.1:$BPORT;
    keepalive 1024;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:$port backlog=4096;
${NGINX_SERVER_EXTRA:-}
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
	# nginx -t first: a bad configuration (or module path) fails clearly here
	"$NGINX" -t -q -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" 2>"$d/nginx-t.err" || {
		cat "$d/nginx-t.err" >&2
		warn "nginx -t failed on $d/nginx.conf"
		return 1
	}
	start_bg "$name" "$PROXY_CPU" "$NGINX" -p "$d/" -c "$d/nginx.conf" -e "$d/error.log"
	PROXY_PID=$LAST_PID
	wait_http "$port" "$PROXY_PID" "$name"
}

# start_haproxy PORT NAME: HAProxy as the peer proxy, 1 process, 1 thread.
start_haproxy() {
	local port=$1 name=$2 d=$T/$2
	mkdir -p "$d"
	cat >"$d/haproxy.cfg" <<EOF
global
  nbthread 1
  # 12000 connections want ~24000 fds; where the hard limit is lower (20000
  # here) HAProxy only warns with this, and 10,000 clients still fit.
  maxconn 12000
  no strict-limits
  # no "log" line: no logging

defaults
  mode http
  option http-keep-alive
  http-reuse always
  maxconn 12000
  timeout connect 5s
  timeout client ${CLIENT_TIMEOUT}s
  timeout server 300s
  timeout http-request ${CLIENT_TIMEOUT}s
  timeout http-keep-alive ${CLIENT_TIMEOUT}s

frontend fe
  bind 127.0.0.1:$port
  option forwardfor
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  default_backend app

backend app
  server app1 127.0.0.1:$BPORT
EOF
	start_bg "$name" "$PROXY_CPU" "$HAPROXY" -db -f "$d/haproxy.cfg"
	PROXY_PID=$LAST_PID
	wait_http "$port" "$PROXY_PID" "$name"
}

# start_proxy TARGET PORT NAME
start_proxy() {
	case $1 in
	foyer) start_foyer "$2" "$3" ;;
	nginx) start_nginx "$2" "$3" ;;
	haproxy) start_haproxy "$2" "$3" ;;
	*) die "unknown proxy $1" ;;
	esac
}

version_of() {
	case $1 in
	# sed, not head: head would leave the writer a SIGPIPE (fatal with pipefail)
	foyer) if [ -x "$FOYER" ]; then { "$FOYER" -v 2>&1 || true; } | sed -n 1p; else echo "$FOYER: not found"; fi ;;
	nginx) { "$NGINX" -v 2>&1 || true; } | sed -n 1p ;;
	haproxy) { "$HAPROXY" -v 2>&1 || true; } | sed -n 1p ;;
	backend) if [ "$BACKEND" = nginx ]; then echo "nginx stand-in origin"; else echo "$BACKEND"; fi ;;
	esac
}
