#!/usr/bin/env python3
"""Process-tree accounting for the foyer benchmark (Linux /proc, stdlib only).

    proxycpu.py pids PID             PID and all its descendants, one a line
    proxycpu.py ticks PID            "utime stime nprocs" summed over the tree (clock ticks)
    proxycpu.py rss [--children] PID  resident KiB summed over the tree
                                     (--children: the descendants only, i.e. the
                                     workers of a master process)
    proxycpu.py wrk --pid PID [--backend-pid PID] [--stats-port PORT]
                    --out FILE [--log FILE] [--meta KEY=VALUE ...] -- wrk ARGS...
        Samples the CPU time (utime+stime from /proc/PID/stat) of the PID tree,
        runs wrk, waits --settle seconds so that connection teardown is counted,
        samples again, and appends one JSON record to FILE: requests, req/s, p99,
        errors (from bench/report.lua's done() line) and the tree's CPU time per
        request in microseconds.  A one-line summary goes to stdout.
"""

import http.client
import json
import os
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    """(ppid, utime, stime) of one process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: split after it.
    rest = data[data.rindex(")") + 2:].split()
    return int(rest[1]), int(rest[11]), int(rest[12])


def tree(pid):
    """pid and its descendants (a snapshot of /proc)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _stat(int(name))
        if st is not None:
            children.setdefault(st[0], []).append(int(name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        if _stat(p) is None:
            continue
        out.append(p)
        todo.extend(children.get(p, []))
    return sorted(out)


def ticks(pid):
    """(utime, stime, pids) summed over the tree."""
    u = s = 0
    pids = tree(pid)
    for p in pids:
        st = _stat(p)
        if st is not None:
            u += st[1]
            s += st[2]
    return u, s, pids


def rss_kib(pid, children_only=False):
    """VmRSS summed over the tree; children_only: over the descendants only
    (the workers of a master), or the process itself if it has none."""
    total = 0
    pids = tree(pid)
    if children_only and len(pids) > 1:
        pids = [p for p in pids if p != pid]
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def backend_stats(port):
    """foyer-test-backend's GET /stats counters as a dict, or None."""
    if not port:
        return None
    try:
        c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=2)
        c.request("GET", "/stats")
        r = c.getresponse()
        body = r.read().decode("ascii", "replace")
        c.close()
        if r.status != 200:
            return None
        return {k: int(v) for k, v in (kv.split("=") for kv in body.split())}
    except (OSError, ValueError, http.client.HTTPException):
        return None


def run_wrk(argv):
    opts = {"pid": None, "backend_pid": None, "out": None, "log": None,
            "settle": 0.3, "stats_port": None, "meta": {}}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            i += 1
            break
        if a in ("--pid", "--backend-pid", "--out", "--log", "--settle", "--stats-port"):
            opts[a[2:].replace("-", "_")] = argv[i + 1]
            i += 2
        elif a == "--meta":
            k, _, v = argv[i + 1].partition("=")
            opts["meta"][k] = v
            i += 2
        else:
            sys.exit(f"proxycpu.py wrk: unknown option {a}")
    cmd = argv[i:]
    if not cmd or opts["pid"] is None or opts["out"] is None:
        sys.exit("usage: proxycpu.py wrk --pid PID --out FILE [...] -- wrk ARGS")
    pid = int(opts["pid"])
    bpid = int(opts["backend_pid"]) if opts["backend_pid"] else None

    st0 = backend_stats(opts["stats_port"])
    u0, s0, pids0 = ticks(pid)
    b0 = ticks(bpid) if bpid else None
    t0 = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(float(opts["settle"]))
    wall = time.monotonic() - t0
    u1, s1, pids1 = ticks(pid)
    b1 = ticks(bpid) if bpid else None
    st1 = backend_stats(opts["stats_port"]) if st0 else None
    text = proc.stdout.decode("utf-8", "replace")
    if opts["log"]:
        with open(opts["log"], "a") as f:
            f.write("$ " + " ".join(cmd) + "\n" + text + "\n")

    rec = dict(opts["meta"])
    rec["wrk_exit"] = proc.returncode
    rec["wall_s"] = round(wall, 3)
    rep = None
    for line in text.splitlines():
        if line.startswith("BENCH "):
            rep = json.loads(line[6:])
    if rep is None:
        rec["error"] = "no BENCH line from wrk (see the wrk log)"
        rec["requests"] = 0
    else:
        rec.update(rep)
        rec["rps"] = rep["requests"] / (rep["duration_us"] / 1e6) if rep["duration_us"] else 0.0
    rec["alive"] = _stat(pid) is not None
    rec["pids"] = pids1
    if set(pids0) != set(pids1):
        rec["warning"] = f"process set changed during the run: {pids0} -> {pids1}"
    du, ds = u1 - u0, s1 - s0
    rec["cpu_utime_ticks"] = du
    rec["cpu_stime_ticks"] = ds
    rec["clk_tck"] = CLK_TCK
    n = rec.get("requests") or 0
    rec["cpu_us_per_req"] = (du + ds) * 1e6 / CLK_TCK / n if n else None
    rec["sys_fraction"] = ds / (du + ds) if du + ds else None
    if b0 is not None:
        bt = (b1[0] - b0[0]) + (b1[1] - b0[1])
        rec["backend_cpu_us_per_req"] = bt * 1e6 / CLK_TCK / n if n else None
    if st0 and st1:
        # The /stats request after the run came on a connection of its own.
        rec["backend_new_conns"] = st1["conns"] - st0["conns"] - 1
        rec["backend_requests"] = st1["requests"] - st0["requests"]
        rec["backend_conns_per_req"] = rec["backend_new_conns"] / n if n else None
    with open(opts["out"], "a") as f:
        f.write(json.dumps(rec, sort_keys=True) + "\n")

    def fmt(v, spec):
        return format(v, spec) if isinstance(v, (int, float)) else "-"
    errs = rec.get("errors", {})
    nerr = sum(errs.values()) if isinstance(errs, dict) else 0
    print(f"  {rec.get('workload', ''):8} {rec.get('target', ''):8} "
          f"{fmt(rec.get('rps'), '10.0f')} req/s  p99 {fmt(rec.get('p99_us', 0) / 1000, '7.2f')} ms  "
          f"cpu {fmt(rec['cpu_us_per_req'], '7.1f')} us/req  errors {nerr}"
          + ("" if rec["alive"] else "  ** PROCESS DIED **")
          + (f"  ** {rec['error']}" if "error" in rec else ""), flush=True)
    return 0


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd = argv[1]
    if cmd == "pids":
        print("\n".join(str(p) for p in tree(int(argv[2]))))
    elif cmd == "ticks":
        u, s, pids = ticks(int(argv[2]))
        print(u, s, len(pids))
    elif cmd == "rss":
        children = "--children" in argv[2:]
        pid = int([a for a in argv[2:] if a != "--children"][0])
        print(rss_kib(pid, children))
    elif cmd == "wrk":
        return run_wrk(argv[2:])
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
