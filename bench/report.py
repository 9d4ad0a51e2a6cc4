#!/usr/bin/env python3
"""Summarise bench/run.sh's raw runs (one JSON record per wrk run) into the
table of medians and the foyer/nginx, foyer/HAProxy ratios; with --memory,
bench/memory.sh's records into KiB per connection.

    report.py [--memory] --raw FILE.jsonl [--meta KEY=VALUE ...] [--txt FILE] [--json FILE]
"""

import json
import statistics
import sys

WORKLOADS = {
    "get-50": "GET 100 B, keep-alive, 50 conns",
    "get-400": "GET 100 B, keep-alive, 400 conns",
    "get-16k": "GET 16 KiB, keep-alive",
    "get-1m": "GET 1 MiB, keep-alive",
    "close": "GET 100 B, new connection per request",
    "post-4k": "POST 4 KiB body, 100 B answer",
}
TARGETS = ["backend", "foyer", "nginx", "haproxy"]
# Targets of issue #2: foyer's proxy CPU per request at most this x nginx's.
CPU_GOAL = {"get-50": 0.85, "get-400": 0.85, "get-1m": 1.0}


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarise(runs):
    out = {}
    for r in runs:
        out.setdefault(r["workload"], {}).setdefault(r["target"], []).append(r)
    summary = {}
    for w, by_t in out.items():
        summary[w] = {}
        for t, rs in by_t.items():
            cpu = [r.get("cpu_us_per_req") for r in rs]
            errs = 0
            for r in rs:
                e = r.get("errors")
                errs += sum(e.values()) if isinstance(e, dict) else 0
                if "error" in r or not r.get("alive", True):
                    errs += 1
            summary[w][t] = {
                "rounds": len(rs),
                "rps": median([r.get("rps") for r in rs]),
                "p99_ms": median([r["p99_us"] / 1000 if "p99_us" in r else None for r in rs]),
                "p50_ms": median([r["p50_us"] / 1000 if "p50_us" in r else None for r in rs]),
                "cpu_us_per_req": median(cpu),
                "cpu_us_per_req_min": min([c for c in cpu if c is not None], default=None),
                "cpu_us_per_req_max": max([c for c in cpu if c is not None], default=None),
                "sys_fraction": median([r.get("sys_fraction") for r in rs]),
                "backend_cpu_us_per_req": median([r.get("backend_cpu_us_per_req") for r in rs]),
                "backend_conns_per_kreq": median([r["backend_conns_per_req"] * 1000
                                                  if r.get("backend_conns_per_req") is not None else None
                                                  for r in rs]),
                "requests": sum(r.get("requests", 0) for r in rs),
                "errors": errs,
            }
    return summary


def ratio(a, b):
    return a / b if a is not None and b else None


def ratios(summary):
    out = {}
    for w, by_t in summary.items():
        f = by_t.get("foyer", {})
        n = by_t.get("nginx", {})
        h = by_t.get("haproxy", {})
        out[w] = {
            "cpu_foyer_nginx": ratio(f.get("cpu_us_per_req"), n.get("cpu_us_per_req")),
            "cpu_foyer_haproxy": ratio(f.get("cpu_us_per_req"), h.get("cpu_us_per_req")),
            "p99_foyer_nginx": ratio(f.get("p99_ms"), n.get("p99_ms")),
            "rps_foyer_nginx": ratio(f.get("rps"), n.get("rps")),
        }
    return out


def f(v, spec, none="-"):
    return format(v, spec) if v is not None else none


def render(meta, summary, rat):
    L = []
    L.append("foyer benchmark  %s" % meta.get("date", ""))
    L.append("  %s; %s CPUs (%s); proxy on CPU %s, wrk + backend on CPU %s"
             % (meta.get("host", ""), meta.get("cpus", "?"), meta.get("cpu", "?"),
                meta.get("proxy_cpu", "?"), meta.get("load_cpu", "?")))
    L.append("  %s rounds x %s s per run, interleaved; medians over rounds; load avg %s -> %s"
             % (meta.get("rounds", "?"), meta.get("duration_s", "?"),
                meta.get("loadavg_start", "?"), meta.get("loadavg_end", "?")))
    for t in TARGETS:
        if "version_" + t in meta:
            L.append("  %-8s %s" % (t, meta["version_" + t]))
        if "dropped_" + t in meta:
            L.append("  %-8s NOT MEASURED: %s" % (t, meta["dropped_" + t]))
    L.append("")
    L.append("proxy CPU = utime+stime of the proxy's processes (master + workers) over the run,")
    L.append("divided by the requests wrk completed; backend CPU likewise for the backend.")
    L.append("bk conns = connections the backend accepted per 1000 requests (upstream reuse;")
    L.append("for the direct 'backend' rows these are wrk's own connections).")
    L.append("")
    hdr = "%-8s %-8s %10s %8s %11s %17s %5s %12s %10s %7s" % (
        "workload", "target", "req/s", "p99 ms", "proxy CPU", "(min..max)", "sys", "backend CPU",
        "bk conns", "errors")
    L.append(hdr)
    L.append("%-8s %-8s %10s %8s %11s %17s %5s %12s %10s %7s" % (
        "", "", "", "", "µs/req", "", "", "µs/req", "/1k req", ""))
    L.append("-" * len(hdr))
    order = [w for w in WORKLOADS if w in summary] + [w for w in summary if w not in WORKLOADS]
    for w in order:
        first = True
        for t in TARGETS + [t for t in summary[w] if t not in TARGETS]:
            s = summary[w].get(t)
            if s is None:
                continue
            direct = t == "backend"
            L.append("%-8s %-8s %10s %8s %11s %17s %5s %12s %10s %7s" % (
                w if first else "", t, f(s["rps"], ",.0f"), f(s["p99_ms"], ".2f"),
                "" if direct else f(s["cpu_us_per_req"], ".1f"),
                "" if direct else "(%s..%s)" % (f(s["cpu_us_per_req_min"], ".1f"),
                                                f(s["cpu_us_per_req_max"], ".1f")),
                "" if direct else f(s["sys_fraction"] and s["sys_fraction"] * 100, ".0f") + "%",
                f(s["backend_cpu_us_per_req"], ".1f"), f(s["backend_conns_per_kreq"], ".1f"),
                s["errors"]))
            first = False
        L.append("")
    L.append("foyer relative to the peers (ratio of medians; CPU < 1 means foyer spends less per request)")
    hdr = "%-8s %-38s %10s %12s %10s  %s" % (
        "workload", "", "CPU f/ngx", "CPU f/hap", "p99 f/ngx", "issue #2 target")
    L.append(hdr)
    L.append("-" * len(hdr))
    for w in order:
        r = rat[w]
        goal = []
        if w in CPU_GOAL and r["cpu_foyer_nginx"] is not None:
            ok = r["cpu_foyer_nginx"] <= CPU_GOAL[w]
            goal.append("CPU <= %.2fx nginx: %s" % (CPU_GOAL[w], "ok" if ok else "MISSED"))
        if r["p99_foyer_nginx"] is not None:
            goal.append("p99 <= nginx: %s" % ("ok" if r["p99_foyer_nginx"] <= 1.0 else "MISSED"))
        L.append("%-8s %-38s %10s %12s %10s  %s" % (
            w, WORKLOADS.get(w, ""), f(r["cpu_foyer_nginx"], ".2f"), f(r["cpu_foyer_haproxy"], ".2f"),
            f(r["p99_foyer_nginx"], ".2f"), "; ".join(goal)))
    return "\n".join(L) + "\n"


# Targets of issue #2 for memory per connection (KiB), and the peers' figures
# measured when the issue was written.
MEM_GOAL = {"idle": 0.6, "half": 4.5}
MEM_MODES = {"idle": "idle keep-alive, after one request",
             "half": "half a request header sent"}


def render_memory(meta, runs):
    by = {}
    for r in runs:
        by.setdefault((r["mode"], r["target"]), []).append(r)
    summary = {}
    for (mode, t), rs in by.items():
        summary.setdefault(mode, {})[t] = {
            "kib_per_conn": median([r.get("kib_per_conn") for r in rs]),
            "alive": min((r.get("alive", 0) for r in rs), default=0),
            "n": rs[0].get("n"),
            "rounds": len(rs),
            "errors": [r["error"] for r in rs if "error" in r]
            + ["proxy died" for r in rs if r.get("proxy_survived") is False]
            + ["%d closed by the proxy" % r["closed_by_peer"] for r in rs if r.get("closed_by_peer")],
        }
    L = ["foyer memory per connection  %s" % meta.get("date", ""),
         "  %s; N=%s connections; %s round(s), median; proxy on CPU %s"
         % (meta.get("host", ""), meta.get("n", "?"), meta.get("rounds", "?"), meta.get("proxy_cpu", "?"))]
    for t in TARGETS[1:]:
        if "version_" + t in meta:
            L.append("  %-8s %s" % (t, meta["version_" + t]))
    L += ["", "worker RSS delta / connections alive, KiB (RSS: VmRSS of the worker processes)", ""]
    hdr = "%-6s %-36s %8s %8s %8s   %s" % ("mode", "", "foyer", "nginx", "haproxy", "issue #2 target")
    L += [hdr, "-" * len(hdr)]
    notes = []
    for mode in [m for m in MEM_MODES if m in summary] + [m for m in summary if m not in MEM_MODES]:
        row = summary[mode]
        cells = []
        for t in ("foyer", "nginx", "haproxy"):
            s = row.get(t)
            cells.append(f(s["kib_per_conn"], ".2f") if s else "")
            if s:
                if s["alive"] != s["n"] and s["n"] is not None:
                    notes.append("%s %s: only %s of %s connections alive at the end"
                                 % (t, mode, s["alive"], s["n"]))
                notes += ["%s %s: %s" % (t, mode, e) for e in s["errors"]]
        goal = ""
        fy = row.get("foyer", {}).get("kib_per_conn")
        if mode in MEM_GOAL:
            goal = "foyer <= %.1f KiB" % MEM_GOAL[mode]
            if fy is not None:
                goal += ": " + ("ok" if fy <= MEM_GOAL[mode] else "MISSED")
        L.append("%-6s %-36s %8s %8s %8s   %s" % (mode, MEM_MODES.get(mode, ""), *cells, goal))
    if notes:
        L += [""] + ["note: " + n for n in notes]
    return "\n".join(L) + "\n", summary


def main(argv):
    raw, txt, js, meta = None, None, None, {}
    memory = False
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--memory":
            memory = True
            i += 1
            continue
        if a in ("--raw", "--txt", "--json"):
            v = argv[i + 1]
            if a == "--raw":
                raw = v
            elif a == "--txt":
                txt = v
            else:
                js = v
            i += 2
        elif a == "--meta":
            k, _, v = argv[i + 1].partition("=")
            meta[k] = v
            i += 2
        else:
            sys.exit(__doc__)
    if raw is None:
        sys.exit(__doc__)
    with open(raw) as fh:
        runs = [json.loads(line) for line in fh if line.strip()]
    if memory:
        text, summary = render_memory(meta, runs)
        rat = None
    else:
        summary = summarise(runs)
        rat = ratios(summary)
        text = render(meta, summary, rat)
    sys.stdout.write(text)
    if txt:
        with open(txt, "w") as fh:
            fh.write(text)
    if js:
        with open(js, "w") as fh:
            doc = {"meta": meta, "summary": summary, "runs": runs}
            if rat is not None:
                doc["ratios"] = rat
            json.dump(doc,
                      fh, indent=1, sort_keys=True)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
