#!/usr/bin/env bash
# bench/routes_e2e.sh: routing at scale end to end, through the real binaries.
# foyer with SMALL_HOSTS (10) host names x 3 path prefixes, foyer with HOSTS
# (100,000) x 3, and HAProxy with the same HOSTS x 3 mappings in a map file;
# wrk (50 connections) sends every request for a random host of the set and a
# random path below one of the prefixes.  Reports req/s, p99, proxy CPU us per
# request and their ratios, the worker's RSS, the config check time, and the
# reload time (SIGHUP / USR2 until new connections see the changed route).
# See bench/README.md, "bench/routes_e2e.sh".
#
#   bench/routes_e2e.sh                      # defaults: about 2.5 min
#   HOSTS=20000 ROUNDS=1 DURATION=2 RELOADS=2 bench/routes_e2e.sh   # quick look
#
# Environment: FOYER BACKEND HOSTS (100000) SMALL_HOSTS (10) SERVICES (4)
# ROUNDS (5) DURATION (5) WARMUP (2) CONNS (50) RELOADS (6) CHECKS (3)
# NGINX_HOSTS (10000; 0 skips nginx) TIME_LIMIT (900 s) PROXY_CPU (0)
# LOAD_CPU (1) RESULTS (bench/results) KEEP_TMP=1.
set -euo pipefail

HOSTS=${HOSTS:-100000}
SMALL_HOSTS=${SMALL_HOSTS:-10}
SERVICES=${SERVICES:-4}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-50}
RELOADS=${RELOADS:-6}
CHECKS=${CHECKS:-3}
NGINX_HOSTS=${NGINX_HOSTS:-10000}
TIME_LIMIT=${TIME_LIMIT:-900}

case ${1:-} in
-h | --help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
"") ;;
*) sed -n '2,18s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RESULTS=${RESULTS:-$BENCH_DIR/results}
PROBE_HOST=reload-probe.example

bench_setup
mkdir -p "$RESULTS"
[ -x "$FOYER" ] || die "foyer binary $FOYER not found (make)"
command -v "$HAPROXY" >/dev/null || die "haproxy not found"
# The whole run is bounded: past TIME_LIMIT the script stops itself (and the
# cleanup trap stops everything it started).
(sleep "$TIME_LIMIT" && log "routes_e2e: TIME_LIMIT ($TIME_LIMIT s) reached, stopping" &&
	kill -TERM $$) 2>/dev/null &
BENCH_PIDS+=("$!")

RAW=$T/runs.jsonl
RELOAD_RAW=$T/reloads.jsonl
EXTRA=$T/extra.jsonl
: >"$RAW"
: >"$RELOAD_RAW"
: >"$EXTRA"
extra() { printf '%s\n' "$1" >>"$EXTRA"; }
now_ns() { date +%s%N; }

start_backend
log "backend: 127.0.0.1:$BPORT (pid $BACKEND_PID, CPU $LOAD_CPU)"

log "generating route sets: $SMALL_HOSTS and $HOSTS host names x 3 prefixes, $SERVICES services"
mkdir -p "$T/small" "$T/big"
$PY "$BENCH_DIR/routes_gen.py" "$SMALL_HOSTS" "$T/small" "$SERVICES"
$PY "$BENCH_DIR/routes_gen.py" "$HOSTS" "$T/big" "$SERVICES"
timeout 60 sync 2>/dev/null || true # written back: no I/O in the timings
extra "{\"json_bytes\": $(stat -c %s "$T/big/routes-A.json"), \"map_lines\": $(wc -l <"$T/big/routes-A.map")}"

declare -A PORT PID NHOSTS DIR KIND ERRF
TARGETS=(foyer10 foyer100k haproxy)
NHOSTS[foyer10]=$SMALL_HOSTS NHOSTS[foyer100k]=$HOSTS NHOSTS[haproxy]=$HOSTS
DIR[foyer10]=$T/small DIR[foyer100k]=$T/big DIR[haproxy]=$T/big
KIND[foyer10]=foyer KIND[foyer100k]=foyer KIND[haproxy]=haproxy

# foyer_conf NAME GEN: the config of target NAME, routes-GEN.json.
foyer_conf() {
	local name=$1 gen=$2 i
	{
		echo "set { workers = 1, access_log = false }"
		echo "listen \"127.0.0.1:${PORT[$name]}\""
		for ((i = 0; i < SERVICES; i++)); do
			echo "service \"s$i\" { endpoints = { \"127.0.0.1:$BPORT\" } }"
		done
		echo 'local router = require "foyer.router"'
		echo "route(router.new(router.load(\"routes-$gen.json\")))"
	} >"${DIR[$name]}/$name.lua.new"
	mv "${DIR[$name]}/$name.lua.new" "${DIR[$name]}/$name.lua"
}

# haproxy_conf NAME GEN: the same routing with map_beg on host + path.
haproxy_conf() {
	local name=$1 gen=$2 d=$T/$1 i
	mkdir -p "$d"
	{
		cat <<EOF
global
  nbthread 1
  maxconn 4000
  no strict-limits
  # sockets handed from the old to the new process at reload
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

frontend fe
  bind 127.0.0.1:${PORT[$name]}
  option forwardfor
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  # host (port removed, lower-cased) + path, longest prefix in the map
  http-request set-var(txn.path) path
  http-request set-var(txn.be) req.hdr(host),host_only,lower,concat(,txn.path),map_beg(${DIR[$name]}/routes-$gen.map)
  http-request return status 404 unless { var(txn.be) -m found }
  use_backend %[var(txn.be)]
EOF
		for ((i = 0; i < SERVICES; i++)); do
			printf 'backend s%d\n  server app1 127.0.0.1:%s\n' "$i" "$BPORT"
		done
		for g in A B; do
			printf 'backend probe_%s\n  http-response set-header X-Route-Gen %s\n  server app1 127.0.0.1:%s\n' "$g" "$g" "$BPORT"
		done
	} >"$d/haproxy.cfg.new"
	mv "$d/haproxy.cfg.new" "$d/haproxy.cfg"
}

# set_gen NAME GEN: point target NAME at route set GEN on disk.
set_gen() {
	case ${KIND[$1]} in
	foyer) foyer_conf "$1" "$2" ;;
	haproxy) haproxy_conf "$1" "$2" ;;
	esac
}

# wait_probe NAME: until the probe host answers 200 (60 s at most).
wait_probe() {
	local name=$1 i code=
	for ((i = 0; i < 600; i++)); do
		if ! kill -0 "${PID[$name]}" 2>/dev/null; then
			warn "$name exited at start; its stderr:"
			tail -n 20 "${ERRF[$name]}" >&2
			return 1
		fi
		code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' -H "Host: $PROBE_HOST" \
			"http://127.0.0.1:${PORT[$name]}/" 2>/dev/null) || true
		[ "$code" = 200 ] && return 0
		sleep 0.1
	done
	warn "$name: no 200 from the probe host within 60 s (last: $code)"
	return 1
}

start_target() {
	local name=$1
	PORT[$name]=$(free_port)
	set_gen "$name" A
	ERRF[$name]=$T/$name.err
	case ${KIND[$name]} in
	foyer) start_bg "$name" "$PROXY_CPU" "$FOYER" -c "${DIR[$name]}/$name.lua" ;;
	haproxy) start_bg "$name" "$PROXY_CPU" "$HAPROXY" -W -db -f "$T/$name/haproxy.cfg" ;;
	esac
	PID[$name]=$LAST_PID
	local t0
	t0=$(now_ns)
	wait_probe "$name" || return 1
	log "$name: 127.0.0.1:${PORT[$name]} (pid ${PID[$name]}), ${NHOSTS[$name]} hosts, answering after $((($(now_ns) - t0) / 1000000)) ms"
}

# check_routes NAME: the routing is right (and equivalent) before measuring.
check_routes() {
	local name=$1 n=${NHOSTS[$1]} p=${PORT[$1]} want host path got
	while read -r want host path; do
		got=$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Host: $host" "http://127.0.0.1:$p$path") || true
		if [ "$got" != "$want" ]; then
			warn "$name: Host $host $path answered $got, expected $want"
			return 1
		fi
	done <<EOF
200 h0.example.com /api/v1/items
200 h$((n - 1)).example.com /img/logo.png
200 H$((n / 2)).Example.com:80 /static/app.js
404 h$n.example.com /api/v1/items
404 h0.example.com /apix/y
404 unknown.example /api/v1/items
EOF
	got=$(curl -s -D - -o /dev/null -m 5 -H "Host: $PROBE_HOST" "http://127.0.0.1:$p/" | tr -d '\r' |
		sed -n 's/^[Xx]-[Rr]oute-[Gg]en: *//p') || true
	[ "$got" = A ] || {
		warn "$name: probe host answered X-Route-Gen '$got', expected A"
		return 1
	}
}

ACTIVE=()
for t in "${TARGETS[@]}"; do
	if start_target "$t" && check_routes "$t"; then
		ACTIVE+=("$t")
	else
		warn "$t left out of this run"
	fi
done
[ ${#ACTIVE[@]} -gt 0 ] || die "no target answers correctly"
for t in "${ACTIVE[@]}"; do
	extra "{\"target\": \"$t\", \"rss_start_worker_kib\": $($PY "$BENCH_DIR/proxycpu.py" rss --children "${PID[$t]}"), \"rss_start_all_kib\": $($PY "$BENCH_DIR/proxycpu.py" rss "${PID[$t]}")}"
done

# run_one ROUND TARGET DURATION OUT
run_one() {
	local r=$1 t=$2
	ROUTES_HOSTS=${NHOSTS[$t]} timeout $((${3%s} + 60)) \
		"$PY" "$BENCH_DIR/proxycpu.py" wrk --pid "${PID[$t]}" --backend-pid "$BACKEND_PID" \
		--stats-port "$BPORT" --out "$4" --log "$T/wrk.log" \
		--meta round="$r" --meta target="$t" --meta hosts="${NHOSTS[$t]}" --meta conns="$CONNS" \
		-- wrk -t1 -c"$CONNS" -d"$3" --timeout 10s --latency -s "$BENCH_DIR/routes_e2e.lua" \
		"http://127.0.0.1:${PORT[$t]}/"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$WARMUP" != 0 ]; then
	log "warm-up: ${WARMUP}s per target (every host touched once or more at 100k only over a long run)"
	for t in "${ACTIVE[@]}"; do run_one 0 "$t" "${WARMUP}s" "$T/warmup.jsonl" >/dev/null; done
fi
n=${#ACTIVE[@]}
for ((r = 1; r <= ROUNDS; r++)); do
	log "round $r/$ROUNDS"
	for ((i = 0; i < n; i++)); do
		t=${ACTIVE[$(((i + r - 1) % n))]}
		run_one "$r" "$t" "${DURATION}s" "$RAW"
		kill -0 "${PID[$t]}" 2>/dev/null || die "$t died during round $r: $(tail -n 5 "${ERRF[$t]}")"
		sleep 0.2
	done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
for t in "${ACTIVE[@]}"; do
	extra "{\"target\": \"$t\", \"rss_worker_kib\": $($PY "$BENCH_DIR/proxycpu.py" rss --children "${PID[$t]}"), \"rss_all_kib\": $($PY "$BENCH_DIR/proxycpu.py" rss "${PID[$t]}")}"
done

# Config check time: foyer -t, haproxy -c (median of CHECKS), nginx -t optional.
check_time() { # NAME CMD...  -> appends {"check": NAME, "ms": [...], "rc": ..}
	local name=$1 k t0 ms=() rc=0
	shift
	for ((k = 0; k < CHECKS; k++)); do
		t0=$(now_ns)
		timeout 300 taskset -c "$PROXY_CPU" "$@" >"$T/check-$name.out" 2>&1 || rc=$?
		ms+=("$((($(now_ns) - t0) / 1000))")
	done
	extra "{\"check\": \"$name\", \"us\": [$(
		IFS=,
		echo "${ms[*]}"
	)], \"rc\": $rc}"
	[ "$rc" = 0 ] || warn "check $name failed (rc $rc): $(tail -n 3 "$T/check-$name.out")"
}
log "config check times ($CHECKS each)"
for t in "${ACTIVE[@]}"; do
	case ${KIND[$t]} in
	foyer) check_time "$t" "$FOYER" -t -c "${DIR[$t]}/$t.lua" ;;
	haproxy) check_time "$t" "$HAPROXY" -c -q -f "$T/$t/haproxy.cfg" ;;
	esac
done
if [ "$NGINX_HOSTS" -gt 0 ] && command -v "$NGINX" >/dev/null; then
	# nginx: a server block per host (3 locations each), check only.
	d=$T/nginx
	mkdir -p "$d/tmp"
	$PY - "$NGINX_HOSTS" "$BPORT" "$(free_port)" "$d" "$(nginx_user_line)" >"$d/nginx.conf" <<'EOF'
import sys
n, bport, port, d, user = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
out = [f"worker_processes 1;\n{user}\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n",
       "events { worker_connections 1024; }\nhttp {\n  access_log off;\n",
       f"  client_body_temp_path {d}/tmp/cb; proxy_temp_path {d}/tmp/p;\n",
       f"  fastcgi_temp_path {d}/tmp/f; uwsgi_temp_path {d}/tmp/u; scgi_temp_path {d}/tmp/s;\n",
       "  server_names_hash_max_size 1048576;\n  server_names_hash_bucket_size 128;\n",
       "  proxy_http_version 1.1;\n  proxy_set_header Connection \"\";\n"]
out += [f"  upstream s{k} {{ server 127.0.0.1:{bport}; keepalive 64; }}\n" for k in range(4)]
out.append(f"  server {{ listen 127.0.0.1:{port} default_server; return 404; }}\n")
for i in range(n):
    locs = " ".join(f"location {p}/ {{ proxy_pass http://s{(i + k) % 4}; }}"
                    for k, p in enumerate(("/api", "/static", "/img")))
    out.append(f"  server {{ listen 127.0.0.1:{port}; server_name h{i}.example.com; {locs} }}\n")
out.append("}\n")
sys.stdout.write("".join(out))
EOF
	log "nginx -t with $NGINX_HOSTS server blocks (one check)"
	CHECKS=1 check_time "nginx$NGINX_HOSTS" "$NGINX" -p "$d/" -c "$d/nginx.conf" -t
fi

# hwm_kib MASTER: the largest VmHWM (peak RSS since start) among its children.
hwm_kib() {
	local p v best=0
	for p in $($PY "$BENCH_DIR/proxycpu.py" pids "$1" | tail -n +2); do
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || v=0
		[ -n "$v" ] && [ "$v" -gt "$best" ] && best=$v
	done
	echo "$best"
}

# Reload: alternate the route set B, A, B, ... on disk, signal, and time
# until a new connection sees it (reload_probe.py).
reload_one() { # NAME GEN I
	local name=$1 gen=$2 i=$3 sig args=() out
	set_gen "$name" "$gen"
	case ${KIND[$name]} in
	foyer)
		sig=HUP
		args=(--log "${ERRF[$name]}" --log-pattern "reloading" --log-pattern "configuration reloaded")
		;;
	haproxy)
		sig=USR2
		args=(--log "${ERRF[$name]}" --log-pattern "Loading success")
		;;
	esac
	out=$(timeout 60 "$PY" "$BENCH_DIR/reload_probe.py" --port "${PORT[$name]}" --pid "${PID[$name]}" \
		--signal "$sig" --expect "$gen" --ka-host h1.example.com --ka-path /api/ka \
		--rss-pid "${PID[$name]}" --timeout 30 "${args[@]}") || warn "$name: reload $i: new route set not seen ($out)"
	[ -n "$out" ] || out='{"seen_s": null}'
	printf '{"target": "%s", "i": %d, "gen": "%s", "workers": "%s", "probe": %s}\n' "$name" "$i" "$gen" \
		"$($PY "$BENCH_DIR/proxycpu.py" pids "${PID[$name]}" | tail -n +2 | tr '\n' ' ')" "$out" >>"$RELOAD_RAW"
}
for t in "${ACTIVE[@]}"; do
	log "$t: $RELOADS reloads"
	workers0=$($PY "$BENCH_DIR/proxycpu.py" pids "${PID[$t]}" | tail -n +2 | tr '\n' ' ')
	extra "{\"target\": \"$t\", \"workers_before_reloads\": \"$workers0\", \"hwm_before_reloads_kib\": $(hwm_kib "${PID[$t]}")}"
	for ((i = 1; i <= RELOADS; i++)); do
		if ((i % 2)); then g=B; else g=A; fi
		reload_one "$t" "$g" "$i"
		kill -0 "${PID[$t]}" 2>/dev/null || die "$t died at reload $i: $(tail -n 5 "${ERRF[$t]}")"
		# let HAProxy's old worker leave before the next one
		sleep 1
	done
	extra "{\"target\": \"$t\", \"rss_after_reloads_worker_kib\": $($PY "$BENCH_DIR/proxycpu.py" rss --children "${PID[$t]}")}"
done
grep -h "route error\|reload refused\|killed by signal\|restarting" "$T"/foyer*.err >"$T/foyer-errors.txt" 2>/dev/null || true

stamp=$(date -u +%Y%m%dT%H%M%SZ)
$PY "$BENCH_DIR/routes_e2e_report.py" --raw "$RAW" --reloads "$RELOAD_RAW" --extra "$EXTRA" \
	--foyer-errors "$T/foyer-errors.txt" \
	--meta "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')" --meta "host=$(uname -srm)" \
	--meta "cpus=$(getconf _NPROCESSORS_ONLN)" --meta "hosts=$HOSTS" --meta "small_hosts=$SMALL_HOSTS" \
	--meta "services=$SERVICES" --meta "rounds=$ROUNDS" --meta "duration_s=$DURATION" \
	--meta "conns=$CONNS" --meta "reloads=$RELOADS" --meta "nginx_hosts=$NGINX_HOSTS" \
	--meta "loadavg_start=$LOAD_START" --meta "loadavg_end=$LOAD_END" \
	--meta "version_foyer=$(version_of foyer)" --meta "version_haproxy=$(version_of haproxy)" \
	--meta "foyer_binary=$FOYER, $(stat -c '%s bytes, built %y' "$FOYER" 2>/dev/null | cut -d. -f1), HEAD $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo ?)" \
	--txt "$RESULTS/routes-e2e-latest.txt" --json "$RESULTS/routes-e2e-latest.json"
cp "$RESULTS/routes-e2e-latest.txt" "$RESULTS/routes-e2e-$stamp.txt"
cp "$RESULTS/routes-e2e-latest.json" "$RESULTS/routes-e2e-$stamp.json"
cp "$T/wrk.log" "$RESULTS/routes-e2e-latest.wrk.log"
log "written: $RESULTS/routes-e2e-latest.txt .json (and routes-e2e-$stamp.*)"
