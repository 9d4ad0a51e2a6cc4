#!/usr/bin/env bash
# bench/etcd.sh: what one route change costs when foyer follows etcd, against
# the same change made in a plain file config and applied with SIGHUP.
#
# ROUTES one-rule routes (host hN.example.com x /api /static /img, as
# bench/routes_gen.py makes them; service s((N+k) mod SERVICES)), SERVICES
# services on one foyer-test-backend ("bench") plus a service "alt" on a
# second one ("alt"); foyer with WORKERS workers.  Then N times, one route
# (the probe, id ROUTES/2) gets a new path /genI and flips between s0 and alt:
#   etcd  the key <prefix>routes/ID put through etcd's gateway; t = 0 when the
#         put has been answered
#   file  the same routes as a router.load JSON file (route(router.new(
#         router.load(FILE)))), the one route edited, SIGHUP; t = 0 at the signal
# and a client opening a new connection every POLL_MS (5) ms notes when the
# new answer (200 from the expected origin on the new path) is first served,
# and foyer's CPU (master + workers: schedstat ns, and utime+stime ticks)
# over the change, read once every worker has logged its reload + 200 ms.  See bench/README.md, "bench/etcd.sh".
#
#   bench/etcd.sh                  # 10,000 routes, 10 changes each way, ~1.5 min
#   ROUTES=2000 N=5 bench/etcd.sh  # quick look
#
# Environment: FOYER ETCD (etcd) ROUTES (10000) N (10) WORKERS (2) SERVICES (4)
# BATCH (500 puts per etcd txn) POLL_MS (5) GAP (0.5 s between changes)
# FOYER_CPUS (all CPUs) LOAD_CPU (1: origins, etcd, client) TIME_LIMIT (900 s)
# RESULTS (bench/results) KEEP_TMP=1.
set -euo pipefail

ROUTES=${ROUTES:-10000}
N=${N:-10}
WORKERS=${WORKERS:-2}
SERVICES=${SERVICES:-4}
BATCH=${BATCH:-500}
POLL_MS=${POLL_MS:-5}
GAP=${GAP:-0.5}
ETCD=${ETCD:-etcd}
TIME_LIMIT=${TIME_LIMIT:-900}

case ${1:-} in
-h | --help) sed -n '2,27s/^# \{0,1\}//p' "$0"; exit 0 ;;
"") ;;
*) sed -n '2,27s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RESULTS=${RESULTS:-$BENCH_DIR/results}
FOYER_CPUS=${FOYER_CPUS:-0-$(($(getconf _NPROCESSORS_ONLN) - 1))}
PREFIX=/foyer/

command -v "$ETCD" >/dev/null || die "no $ETCD binary (apt-get install etcd-server, or ETCD=PATH)"
[ -x "$FOYER" ] || die "foyer binary $FOYER not found (make)"
[ "$ROUTES" -ge 2 ] || die "ROUTES must be at least 2"
bench_setup
mkdir -p "$RESULTS"
(sleep "$TIME_LIMIT" && log "etcd: TIME_LIMIT ($TIME_LIMIT s) reached, stopping" && kill -TERM $$) 2>/dev/null &
BENCH_PIDS+=("$!")

# ---- the origins: "bench" (services s0..) and "alt" --------------------------------
start_backend
ALT_PORT=
start_bg alt "$LOAD_CPU" "$BACKEND" --listen 127.0.0.1:0 --name alt
alt_pid=$LAST_PID
for ((i = 0; i < 100; i++)); do
	ALT_PORT=$(head -n 1 "$T/alt.out" | grep -oE '[0-9]+$' || true)
	[ -n "$ALT_PORT" ] && break
	kill -0 "$alt_pid" 2>/dev/null || die "origin alt exited: $(tail -n 5 "$T/alt.err")"
	sleep 0.1
done
[ -n "$ALT_PORT" ] || die "origin alt printed no port"
log "origins: bench 127.0.0.1:$BPORT, alt 127.0.0.1:$ALT_PORT (CPU $LOAD_CPU)"

# ---- the Python side: loading etcd, writing the file config, measuring ---------------
cat >"$T/etcdbench.py" <<'PYEOF'
"""bench/etcd.sh's helper (stdlib only): routes, etcd loading, one measured run."""
import base64, http.client, json, os, signal, socket, statistics, subprocess, sys, threading, time

sys.path.insert(0, os.environ["BENCH_DIR"])
import proxycpu  # noqa: E402

PREFIXES = ("/api", "/static", "/img")
TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")


def route(i, nsvc):
    """Route i, as bench/routes_gen.py numbers them: host i//3, prefix i%3."""
    h, k = divmod(i, 3)
    return {"host": f"h{h}.example.com", "path": PREFIXES[k], "service": f"s{(h + k) % nsvc}"}


def probe_route(i, gen, nsvc):
    """The probe route at change gen: a new path, alternately on alt and s0."""
    r = route(i, nsvc)
    r["path"] = f"/gen{gen}"
    r["service"] = "alt" if gen % 2 else "s0"
    return r


def expect(gen):
    return "alt" if gen % 2 else "bench"


def b64(s):
    return base64.b64encode(s.encode()).decode()


class Etcd:
    def __init__(self, port):
        self.port = port
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path, body):
        data = json.dumps(body).encode()
        for attempt in (0, 1):
            try:
                self.c.request("POST", path, data, {"Content-Type": "application/json"})
                r = self.c.getresponse()
                out = r.read()
                break
            except (ConnectionError, http.client.HTTPException):
                if attempt:
                    raise
                self.c.close()
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        if r.status != 200:
            sys.exit(f"etcd {path}: {r.status} {out[:300]!r}")
        return json.loads(out)

    def put(self, key, value):
        return self.post("/v3/kv/put", {"key": b64(key), "value": b64(value)})

    def txn(self, kvs):
        return self.post("/v3/kv/txn", {"success": [
            {"requestPut": {"key": b64(k), "value": b64(v)}} for k, v in kvs]})


def cmd_load(a):
    """load ETCD_PORT PREFIX ROUTES NSVC BATCH BENCH_PORT ALT_PORT"""
    port, prefix, n, nsvc, batch, bport, aport = a[0], a[1], *map(int, a[2:])
    e = Etcd(int(port))
    kvs = [(f"{prefix}services/s{k}", json.dumps({"endpoints": [f"127.0.0.1:{bport}"]}))
           for k in range(nsvc)]
    kvs.append((f"{prefix}services/alt", json.dumps({"endpoints": [f"127.0.0.1:{aport}"]})))
    kvs += [(f"{prefix}routes/{i}", json.dumps(route(i, nsvc), separators=(",", ":")))
            for i in range(n)]
    t0 = time.monotonic()
    for j in range(0, len(kvs), batch):
        rev = e.txn(kvs[j:j + batch])["header"]["revision"]
    print(json.dumps({"keys": len(kvs), "txns": (len(kvs) + batch - 1) // batch,
                      "seconds": round(time.monotonic() - t0, 3), "revision": int(rev)}))


def cmd_routes(a):
    """routes FILE ROUTES NSVC [PROBE_ID GEN]: the router.load document."""
    out, n, nsvc = a[0], int(a[1]), int(a[2])
    probe, gen = (int(a[3]), int(a[4])) if len(a) > 3 else (-1, 0)
    rs = [probe_route(i, gen, nsvc) if i == probe else route(i, nsvc) for i in range(n)]
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write('{"routes":[\n' + ",\n".join(json.dumps(r, separators=(",", ":")) for r in rs)
                + "\n]}\n")
    os.rename(tmp, out)


def get(port, host, path):
    """(status, body) of GET on a new connection; (-1, '') on failure."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        s.close()
        head, _, body = buf.partition(b"\r\n\r\n")
        return int(head.split(None, 2)[1]), body.decode("latin-1")
    except (OSError, ValueError, IndexError):
        return -1, ""


def cmd_wait(a):
    """wait PORT HOST PATH ORIGIN TIMEOUT: until GET answers 200 from ORIGIN."""
    port, host, path, origin, timeout = int(a[0]), a[1], a[2], a[3], float(a[4])
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        st, body = get(port, host, path)
        if st == 200 and body.startswith(origin + " "):
            print(f"{time.monotonic() - t0:.2f}")
            return 0
        time.sleep(0.05)
    sys.exit(f"GET {host}{path} did not answer 200 from {origin} within {timeout} s "
             f"(last: {st} {body[:80]!r})")


WORKER_DONE = ("configuration reloaded", "configuration changed in place")


class LogWatch(threading.Thread):
    """Notes when lines appear in FILE (monotonic seconds), polled every ms."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.f = open(path, "r", errors="replace")
        self.f.seek(0, 2)
        self.lines, self.stop, self.part = [], False, ""

    def run(self):
        while not self.stop:
            d = self.f.read()
            if d:
                now = time.monotonic()
                d = self.part + d
                *full, self.part = d.split("\n")
                self.lines += [(now, ln) for ln in full]
            else:
                time.sleep(0.001)

    def first(self, texts, t0, count=1):
        """When the count-th line holding one of texts (a string or a tuple) came."""
        texts = (texts,) if isinstance(texts, str) else texts
        hits = [t for t, ln in list(self.lines) if any(x in ln for x in texts)]
        return round((hits[count - 1] - t0) * 1000, 1) if len(hits) >= count else None


def ns(pid):
    """CPU time in ns of the live threads of pid (/proc/PID/task/*/schedstat);
    0 if it is gone.  Threads that have exited are not in it: foyer loads a
    configuration in a short-lived thread, so this is only for etcd."""
    t = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                t += int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        pass
    return t


def cpu(master):
    """{pid: (utime+stime ticks, schedstat ns)} of master and its descendants."""
    out = {}
    for p in proxycpu.tree(master):
        st = proxycpu._stat(p)
        if st:
            out[p] = (st[1] + st[2], ns(p))
    return out


class Perf:
    """perf stat -e task-clock on the given processes: exact CPU time, and
    threads they start and end meanwhile are counted into their parent
    (utime+stime in /proc/PID/stat count that too, but in 10 ms steps)."""

    def __init__(self, pids, out):
        self.out = out
        self.p = subprocess.Popen(
            [os.environ.get("PERF", "perf"), "stat", "-e", "task-clock", "--per-thread",
             "-x,", "-o", out, "-p", ",".join(map(str, pids))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.15)  # attached

    def stop(self):
        """{pid: ms}, or None if perf failed."""
        self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None
        res = {}
        try:
            for ln in open(self.out):
                f = ln.strip().split(",")
                if len(f) > 3 and f[3] == "task-clock" and "-" in f[0]:
                    res[int(f[0].rsplit("-", 1)[1])] = (
                        0.0 if f[1].startswith("<") else float(f[1]))  # <not counted>
        except (OSError, ValueError):
            return None
        return res or None


def perf_works():
    try:
        return subprocess.run([os.environ.get("PERF", "perf"), "stat", "-e", "task-clock",
                               "-x,", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def delta(before, after, pids, k):
    return sum(after[p][k] - before.get(p, (0, 0))[k] for p in pids)


def cmd_measure(a):
    """measure MODE PORT MASTER LOG OUT ROUTES NSVC N POLL_MS GAP WORKERS
    [ETCD_PORT PREFIX ETCD_PID | ROUTES_FILE]"""
    mode, port, master, logf, out = a[0], int(a[1]), int(a[2]), a[3], a[4]
    n, nsvc, changes, poll, gap, workers = int(a[5]), int(a[6]), int(a[7]), float(a[8]) / 1000, float(a[9]), int(a[10])
    rest = a[11:]
    pid_probe = n // 2
    etcd = etcd_pid = None
    if mode == "etcd":
        etcd, prefix, etcd_pid = Etcd(int(rest[0])), rest[1], int(rest[2])
    else:
        rfile = rest[0]
    watch = LogWatch(logf)
    watch.start()
    use_perf = os.environ.get("USE_PERF", "1") == "1" and perf_works()
    print(f"  CPU from {'perf stat -e task-clock (exact)' if use_perf else 'utime+stime (10 ms steps)'}",
          file=sys.stderr)

    # What the polling itself costs foyer: 1 s of polling with nothing changing.
    perf = Perf(list(proxycpu.tree(master)), f"{out}.perf0") if use_perf else None
    c0, t0 = cpu(master), time.monotonic()
    host = route(pid_probe, nsvc)["host"]
    idle_polls = 0
    while time.monotonic() - t0 < 1.0:
        get(port, host, "/gen0/x")
        idle_polls += 1
        time.sleep(poll)
    c1, el = cpu(master), time.monotonic() - t0
    pc = perf.stop() if perf else None
    idle_ms = sum(pc.values()) / el if pc else delta(c0, c1, c1, 0) * TICK_MS / el

    runs = []
    for gen in range(1, changes + 1):
        time.sleep(gap)
        path = f"/gen{gen}/x"
        want = expect(gen)
        r = {"gen": gen}
        if mode == "file":  # the edit, before the clock starts
            cmd_routes([rfile, str(n), str(nsvc), str(pid_probe), str(gen)])
        procs = list(proxycpu.tree(master))
        perf = Perf(procs, f"{out}.perf{gen}") if use_perf else None
        before = cpu(master)
        e0 = ns(etcd_pid) if etcd_pid else 0
        ts = time.monotonic()
        if mode == "etcd":
            res = etcd.put(f"{prefix}routes/{pid_probe}",
                           json.dumps(probe_route(pid_probe, gen, nsvc), separators=(",", ":")))
            r["etcd_revision"] = int(res["header"]["revision"])
        else:
            os.kill(master, 1)
        t0 = time.monotonic()
        r["put_ms"] = round((t0 - ts) * 1000, 2)
        seen, polls = None, 0
        while time.monotonic() - t0 < 60:
            st, body = get(port, host, path)
            polls += 1
            if st == 200 and body.startswith(want + " "):
                seen = time.monotonic()
                break
            time.sleep(poll)
        r["seen_ms"] = round((seen - t0) * 1000, 1) if seen else None
        r["polls"] = polls
        # every worker's reload (or change in place) logged (at most 30 s),
        # then 200 ms to settle
        tw = time.monotonic()
        while (time.monotonic() - tw < 30 and
               watch.first(WORKER_DONE, t0, workers) is None):
            time.sleep(0.005)
        time.sleep(0.2)
        after = cpu(master)
        ws = [p for p in after if p != master]
        pc = perf.stop() if perf else None
        if pc:  # exact
            r["cpu_source"] = "perf task-clock"
            r["master_cpu_ms"] = round(pc.get(master, 0), 1)
            r["workers_cpu_ms"] = round(sum(v for p, v in pc.items() if p != master), 1)
        else:  # 10 ms steps
            r["cpu_source"] = "utime+stime"
            r["master_cpu_ms"] = round(delta(before, after, [master], 0) * TICK_MS, 1)
            r["workers_cpu_ms"] = round(delta(before, after, ws, 0) * TICK_MS, 1)
        r["cpu_ms"] = round(r["master_cpu_ms"] + r["workers_cpu_ms"], 1)
        r["cpu_ticks_ms"] = round(delta(before, after, after, 0) * TICK_MS, 1)
        r["etcd_cpu_ms"] = round((ns(etcd_pid) - e0) / 1e6, 1) if etcd_pid else None
        r["log_master_ms"] = watch.first(("applied: configuration generation",
                                          "applied in place") if mode == "etcd"
                                         else "reloading", t0)
        r["log_worker_first_ms"] = watch.first(WORKER_DONE, t0, 1)
        r["log_worker_last_ms"] = watch.first(WORKER_DONE, t0, workers)
        r["in_place"] = watch.first("configuration changed in place", t0, workers) is not None
        print(f"  {mode} change {gen}: served after {r['seen_ms']} ms, foyer CPU "
              f"{r['cpu_ms']} ms (master {r['master_cpu_ms']}, workers {r['workers_cpu_ms']}), "
              f"log master {r['log_master_ms']} / workers {r['log_worker_first_ms']}.."
              f"{r['log_worker_last_ms']} ms", file=sys.stderr)
        runs.append(r)
        watch.lines.clear()
    watch.stop = True
    json.dump({"mode": mode, "routes": n, "probe_id": pid_probe, "runs": runs,
               "idle_poll_cpu_ms_per_s": round(idle_ms, 1), "idle_polls_per_s": round(idle_polls / el)},
              open(out, "w"), indent=1)


def cmd_report(a):
    """report TXT JSON META_JSON ETCD.json FILE.json"""
    txt, js, meta = a[0], a[1], json.loads(a[2])
    res = [json.load(open(p)) for p in a[3:]]

    def med(vals):
        v = [x for x in vals if x is not None]
        return (statistics.median(v), min(v), max(v)) if v else (None, None, None)

    def fmt(m, nd=0):
        return "-" if m[0] is None else f"{m[0]:.{nd}f} ({m[1]:.{nd}f}..{m[2]:.{nd}f})"

    lines = [f"foyer etcd change vs file reload: {meta['routes']} routes, {meta['workers']} "
             f"workers, {meta['n']} changes each (median (min..max))", ""]
    cols = [("served ms", "seen_ms", 0), ("foyer CPU ms", "cpu_ms", 1),
            ("master CPU ms", "master_cpu_ms", 1), ("workers CPU ms", "workers_cpu_ms", 1),
            ("master logged ms", "log_master_ms", 0),
            ("last worker logged ms", "log_worker_last_ms", 0),
            ("CPU ms (ticks)", "cpu_ticks_ms", 0),
            ("put/signal ms", "put_ms", 1), ("etcd CPU ms", "etcd_cpu_ms", 1)]
    summ = {}
    rows = []
    for r in res:
        s = {k: med([x.get(k) for x in r["runs"]]) for _, k, _ in cols}
        summ[r["mode"]] = s
        name = "etcd change" if r["mode"] == "etcd" else "file + SIGHUP"
        rows.append([name] + [fmt(s[k], nd) if (r["mode"] == "etcd" or k != "etcd_cpu_ms")
                              else "-" for _, k, nd in cols])
    hdr = [""] + [c[0] for c in cols]
    w = [max(len(str(x[i])) for x in [hdr] + rows) for i in range(len(hdr))]
    lines.append("  ".join(str(h).ljust(w[i]) for i, h in enumerate(hdr)))
    for row in rows:
        lines.append("  ".join(str(x).ljust(w[i]) for i, x in enumerate(row)))
    lines.append("")
    if "etcd" in summ and "file" in summ and summ["file"]["seen_ms"][0]:
        lines.append(f"ratio etcd/file: served {summ['etcd']['seen_ms'][0] / summ['file']['seen_ms'][0]:.2f}, "
                     f"foyer CPU {summ['etcd']['cpu_ms'][0] / max(summ['file']['cpu_ms'][0], 1e-9):.2f}")
    for r in res:
        if r["mode"] == "etcd":
            k = sum(1 for x in r["runs"] if x.get("in_place"))
            lines.append(f"etcd: {k} of {len(r['runs'])} changes applied in place by every "
                         f"worker (no reload: only the changed route recompiled)")
    for r in res:
        lines.append(f"{r['mode']}: the polling alone ({r['idle_polls_per_s']} new connections/s, "
                     f"nothing changing) costs foyer {r['idle_poll_cpu_ms_per_s']} ms CPU per "
                     f"second; it runs only until the change is seen (a few ms of it per change)")
    lines.append("served: from the put's answer (etcd) / the SIGHUP (file) to the first new "
                 "connection answered by the new route; CPU: master + workers (perf stat -e "
                 "task-clock, short-lived load threads included; the ticks column: utime+stime "
                 "of /proc/PID/stat, 10 ms steps) from just before the put/signal until every "
                 "worker logged its reload (or change in place) + 200 ms; etcd CPU: its threads' schedstat")
    lines.append("")
    for k, v in meta.items():
        lines.append(f"{k}: {v}")
    text = "\n".join(lines) + "\n"
    open(txt, "w").write(text)
    print(text, end="")
    json.dump({"meta": meta, "summary": {m: {k: list(v) for k, v in s.items()}
                                         for m, s in summ.items()}, "results": res},
              open(js, "w"), indent=1)


if __name__ == "__main__":
    sys.exit(globals()["cmd_" + sys.argv[1]](sys.argv[2:]) or 0)
PYEOF
export BENCH_DIR
EB=("$PY" "$T/etcdbench.py")

# ---- etcd ------------------------------------------------------------------------
EPORT=$(free_port)
EPEER=$(free_port)
start_bg etcd "$LOAD_CPU" "$ETCD" --name bench --data-dir "$T/etcd-data" \
	--listen-client-urls "http://127.0.0.1:$EPORT" --advertise-client-urls "http://127.0.0.1:$EPORT" \
	--listen-peer-urls "http://127.0.0.1:$EPEER" --initial-advertise-peer-urls "http://127.0.0.1:$EPEER" \
	--initial-cluster "bench=http://127.0.0.1:$EPEER" \
	--max-txn-ops "$BATCH" --max-request-bytes 10485760
ETCD_PID=$LAST_PID
for ((i = 0; i < 200; i++)); do
	kill -0 "$ETCD_PID" 2>/dev/null || die "etcd exited: $(tail -n 5 "$T/etcd.err")"
	curl -s -m 1 "http://127.0.0.1:$EPORT/health" 2>/dev/null | grep -q true && break
	sleep 0.1
done
curl -s -m 1 "http://127.0.0.1:$EPORT/health" | grep -q true || die "etcd not healthy on 127.0.0.1:$EPORT"
log "etcd $("$ETCD" --version | sed -n 1p | cut -d' ' -f3) on 127.0.0.1:$EPORT (pid $ETCD_PID, CPU $LOAD_CPU)"
load=$("${EB[@]}" load "$EPORT" "$PREFIX" "$ROUTES" "$SERVICES" "$BATCH" "$BPORT" "$ALT_PORT")
log "etcd loaded: $load"

PROBE_ID=$((ROUTES / 2))
PROBE_HOST=h$((PROBE_ID / 3)).example.com
PROBE_PATH=$(case $((PROBE_ID % 3)) in 0) echo /api ;; 1) echo /static ;; 2) echo /img ;; esac)/x

# run_mode MODE CONF: start foyer on CONF, wait for the probe route, measure.
run_mode() {
	local mode=$1 conf=$2 port=$3 fpid t
	start_bg "foyer-$mode" "$FOYER_CPUS" "$FOYER" -c "$conf"
	fpid=$LAST_PID
	t=$(date +%s.%N)
	"${EB[@]}" wait "$port" "$PROBE_HOST" "$PROBE_PATH" bench 120 >/dev/null ||
		{ tail -n 20 "$T/foyer-$mode.err" >&2; die "foyer ($mode) did not serve the probe route"; }
	STARTUP[$mode]=$($PY -c "import time; print(round(time.time() - $t, 2))")
	log "foyer ($mode): 127.0.0.1:$port, pid $fpid, workers $($PY "$BENCH_DIR/proxycpu.py" pids "$fpid" | tail -n +2 | tr '\n' ' ')serving after ${STARTUP[$mode]} s; RSS $(($($PY -c "import sys; sys.path.insert(0, '$BENCH_DIR'); import proxycpu; print(proxycpu.rss_kib($fpid))") / 1024)) MiB"
	shift 3
	# in the background, so that a signal to this script is handled at once
	"${EB[@]}" measure "$mode" "$port" "$fpid" "$T/foyer-$mode.err" "$T/$mode.json" \
		"$ROUTES" "$SERVICES" "$N" "$POLL_MS" "$GAP" "$WORKERS" "$@" &
	local mpid=$!
	BENCH_PIDS+=("$mpid")
	wait "$mpid" || die "the $mode measurement failed"
	forget_pid "$mpid"
	cp "$T/foyer-$mode.err" "$T/$mode.stderr.txt"
	stop_pid "$fpid"
}
declare -A STARTUP
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- foyer following etcd --------------------------------------------------------
mkdir -p "$T/etcd"
port=$(free_port)
cat >"$T/etcd/foyer.lua" <<EOF
listen "127.0.0.1:$port"
set { workers = $WORKERS, access_log = false,
      config_source = { etcd = { endpoints = { "127.0.0.1:$EPORT" }, prefix = "$PREFIX",
        snapshot = "$T/etcd/snapshot.json" } } }
EOF
log "etcd: $N changes of route $PROBE_ID ($PROBE_HOST$PROBE_PATH)"
run_mode etcd "$T/etcd/foyer.lua" "$port" "$EPORT" "$PREFIX" "$ETCD_PID"
SNAP_BYTES=$(stat -c %s "$T/etcd/snapshot.json")

# ---- the same routes from a file, SIGHUP -----------------------------------------
mkdir -p "$T/file"
port=$(free_port)
"${EB[@]}" routes "$T/file/routes.json" "$ROUTES" "$SERVICES"
{
	echo "listen \"127.0.0.1:$port\""
	echo "set { workers = $WORKERS, access_log = false }"
	for ((k = 0; k < SERVICES; k++)); do echo "service \"s$k\" { endpoints = { \"127.0.0.1:$BPORT\" } }"; done
	echo "service \"alt\" { endpoints = { \"127.0.0.1:$ALT_PORT\" } }"
	echo 'local router = require "foyer.router"'
	echo 'route(router.new(router.load("routes.json")))'
} >"$T/file/foyer.lua"
log "file: $N edits of route $PROBE_ID + SIGHUP"
run_mode file "$T/file/foyer.lua" "$port" "$T/file/routes.json"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----------------------------------------------------------------------
stamp=$(date -u +%Y%m%dT%H%M%SZ)
meta=$($PY -c 'import json, sys; a = sys.argv[1:]; print(json.dumps(dict(zip(a[::2], a[1::2]))))' \
	date "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" host "$(uname -srm)" cpus "$(getconf _NPROCESSORS_ONLN)" \
	routes "$ROUTES" workers "$WORKERS" n "$N" services "$SERVICES + alt" \
	poll_ms "$POLL_MS" foyer_cpus "$FOYER_CPUS" load_cpu "$LOAD_CPU (origins, etcd, client)" \
	etcd "$("$ETCD" --version | sed -n 1p)" etcd_load "$load" \
	snapshot_bytes "$SNAP_BYTES" routes_json_bytes "$(stat -c %s "$T/file/routes.json")" \
	startup_s "etcd ${STARTUP[etcd]}, file ${STARTUP[file]} (start to probe served)" \
	loadavg "$LOAD_START -> $LOAD_END" version_foyer "$(version_of foyer)" \
	foyer_binary "$FOYER, $(stat -c '%s bytes, built %y' "$FOYER" 2>/dev/null | cut -d. -f1)")
"${EB[@]}" report "$RESULTS/etcd-latest.txt" "$RESULTS/etcd-latest.json" "$meta" "$T/etcd.json" "$T/file.json"
cp "$RESULTS/etcd-latest.txt" "$RESULTS/etcd-$stamp.txt"
cp "$RESULTS/etcd-latest.json" "$RESULTS/etcd-$stamp.json"
log "written: $RESULTS/etcd-latest.txt .json (and etcd-$stamp.*)"
