#!/usr/bin/env python3
"""Report of bench/routes_e2e.sh (stdlib only): medians, ratios, the table and
the JSON.

    routes_e2e_report.py --raw runs.jsonl --reloads reloads.jsonl --extra extra.jsonl
                         [--foyer-errors FILE] [--meta K=V ...] --txt OUT --json OUT
"""
import argparse
import json
import statistics
import sys

NAMES = {"foyer10": "foyer, 10 routes", "foyer100k": "foyer, big set", "haproxy": "HAProxy, big set"}


def jsonl(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, spec, none="-"):
    return format(v, spec) if isinstance(v, (int, float)) else none


def ratio(a, b):
    return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--reloads", required=True)
    ap.add_argument("--extra", required=True)
    ap.add_argument("--foyer-errors")
    ap.add_argument("--meta", action="append", default=[])
    ap.add_argument("--txt", required=True)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    meta = dict(m.split("=", 1) for m in a.meta)
    runs = jsonl(a.raw)
    reloads = jsonl(a.reloads)
    extra = jsonl(a.extra)
    hosts = int(meta.get("hosts", 0))
    small = meta.get("small_hosts", "10")
    NAMES["foyer10"] = f"foyer, {small} hosts x 3"
    NAMES["foyer100k"] = f"foyer, {hosts:,} hosts x 3"
    NAMES["haproxy"] = f"HAProxy, {hosts:,} x 3 (map_beg)"

    targets = [t for t in ("foyer10", "foyer100k", "haproxy") if any(r["target"] == t for r in runs)]
    load = {}
    for t in targets:
        rs = [r for r in runs if r["target"] == t]
        cpu = [r.get("cpu_us_per_req") for r in rs]
        errs = sum(sum(r.get("errors", {}).values()) for r in rs)
        load[t] = {
            "rps": med([r.get("rps") for r in rs]),
            "p99_ms": med([r.get("p99_us", 0) / 1000 for r in rs]),
            "cpu_us_per_req": med(cpu),
            "cpu_min": min([c for c in cpu if c is not None], default=None),
            "cpu_max": max([c for c in cpu if c is not None], default=None),
            "sys_fraction": med([r.get("sys_fraction") for r in rs]),
            "backend_conns_per_1k": med([1000 * r["backend_conns_per_req"] for r in rs
                                         if r.get("backend_conns_per_req") is not None]),
            "errors": errs,
            "runs": len(rs),
        }
    rss = {}
    checks = {}
    info = {}
    for e in extra:
        if "check" in e:
            checks[e["check"]] = {"ms_median": med(e["us"]) / 1000, "ms": [u / 1000 for u in e["us"]],
                                  "rc": e["rc"]}
        elif "target" in e:
            rss.setdefault(e["target"], {}).update({k: v for k, v in e.items() if k != "target"})
        else:
            info.update(e)
    rel = {}
    for t in targets:
        rr = [r for r in reloads if r["target"] == t]
        if not rr:
            continue
        pr = [r["probe"] for r in rr]
        seen = [p.get("seen_s") for p in pr]
        d = {"n": len(rr), "not_seen": sum(1 for s in seen if s is None),
             "seen_ms_median": med([s * 1000 for s in seen if s is not None]),
             "seen_ms_max": max([s * 1000 for s in seen if s is not None], default=None),
             "ka_stall_ms_median": med([p.get("ka_max_ms") for p in pr]),
             "ka_stall_ms_max": max([p.get("ka_max_ms") or 0 for p in pr]),
             "ka_errors": sum(p.get("n_ka_errors", 0) for p in pr),
             "ka_error_samples": sorted({e for p in pr for e in p.get("ka_errors", [])})[:5],
             "probe_errors": sum(p.get("n_probe_errors", 0) for p in pr),
             "old_answers": sum(p.get("old_answers", 0) for p in pr),
             "rss_before_kib": med([p.get("rss_before_kib") for p in pr]),
             "rss_max_kib": max([p.get("rss_max_kib") or 0 for p in pr]),
             "hwm_max_kib": max([p.get("hwm_max_kib") or 0 for p in pr]),
             "workers": sorted({r.get("workers", "").strip() for r in rr})}
        pats = sorted({k for p in pr for k in p.get("log_s", {})})
        for k in pats:
            vals = [p["log_s"].get(k) for p in pr if k in p.get("log_s", {})]
            d[f"log_ms_median[{k}]"] = med([v * 1000 for v in vals])
            d[f"log_ms_max[{k}]"] = max(v * 1000 for v in vals)
        rel[t] = d

    L = lambda t, k: load.get(t, {}).get(k)  # noqa: E731
    ratios = {
        "cpu_foyer100k_over_foyer10": ratio(L("foyer100k", "cpu_us_per_req"), L("foyer10", "cpu_us_per_req")),
        "cpu_foyer100k_over_haproxy": ratio(L("foyer100k", "cpu_us_per_req"), L("haproxy", "cpu_us_per_req")),
        "rps_foyer100k_over_foyer10": ratio(L("foyer100k", "rps"), L("foyer10", "rps")),
        "rps_foyer100k_over_haproxy": ratio(L("foyer100k", "rps"), L("haproxy", "rps")),
        "p99_foyer100k_over_foyer10": ratio(L("foyer100k", "p99_ms"), L("foyer10", "p99_ms")),
        "p99_foyer100k_over_haproxy": ratio(L("foyer100k", "p99_ms"), L("haproxy", "p99_ms")),
    }
    # per-round ratio (same round, adjacent runs): a steadier view on a noisy machine
    per_round = []
    for r in sorted({x["round"] for x in runs}):
        c = {x["target"]: x.get("cpu_us_per_req") for x in runs if x["round"] == r}
        per_round.append({"round": r, "foyer100k/foyer10": ratio(c.get("foyer100k"), c.get("foyer10")),
                          "foyer100k/haproxy": ratio(c.get("foyer100k"), c.get("haproxy"))})
    ratios["per_round"] = per_round

    out = []
    w = out.append
    w(f"routes_e2e: routing at scale through the real binaries, {meta.get('date', '')}")
    w(f"  {meta.get('host', '')}, {meta.get('cpus', '?')} CPUs, loadavg {meta.get('loadavg_start', '?')}"
      f" -> {meta.get('loadavg_end', '?')}; {meta.get('version_foyer', '')}; {meta.get('version_haproxy', '')}")
    w(f"  {meta.get('foyer_binary', '')}")
    w(f"  wrk -c{meta.get('conns')} -t1, {meta.get('rounds')} rounds x {meta.get('duration_s')} s, random host "
      f"and prefix per request; {meta.get('services')} services on one foyer-test-backend; proxies on CPU 0")
    if info:
        w(f"  big set: {info.get('json_bytes', 0) / 1e6:.1f} MB of JSON, {info.get('map_lines', '?')} map lines")
    w("")
    w(f"{'target':34} {'req/s':>8} {'p99 ms':>7} {'CPU us/req':>11} {'(min..max)':>14} {'sys':>4} "
      f"{'errors':>6}")
    for t in targets:
        d = load[t]
        w(f"{NAMES[t]:34} {fmt(d['rps'], '8.0f')} {fmt(d['p99_ms'], '7.2f')} "
          f"{fmt(d['cpu_us_per_req'], '11.2f')} {'(' + fmt(d['cpu_min'], '.1f') + '..' + fmt(d['cpu_max'], '.1f') + ')':>14} "
          f"{fmt(d['sys_fraction'] and 100 * d['sys_fraction'], '3.0f')}% {d['errors']:6d}")
    w("")
    r1 = ratios["cpu_foyer100k_over_foyer10"]
    r2 = ratios["cpu_foyer100k_over_haproxy"]
    w(f"CPU/req foyer big / foyer 10:   {fmt(r1, '.3f')}   (target <= 1.05: "
      f"{'met' if r1 is not None and r1 <= 1.05 else 'NOT met' if r1 is not None else '-'})")
    w(f"CPU/req foyer big / HAProxy:    {fmt(r2, '.3f')}   (target <= 1: "
      f"{'met' if r2 is not None and r2 <= 1 else 'NOT met' if r2 is not None else '-'})")
    w("  per round (foyer big / foyer 10, / HAProxy): " + ", ".join(
        f"{fmt(p['foyer100k/foyer10'], '.3f')} {fmt(p['foyer100k/haproxy'], '.3f')}" for p in per_round))
    w(f"req/s foyer big / foyer 10: {fmt(ratios['rps_foyer100k_over_foyer10'], '.3f')}; "
      f"foyer big / HAProxy: {fmt(ratios['rps_foyer100k_over_haproxy'], '.3f')}")
    w("")
    w("memory (VmRSS, MiB): worker after the load runs [master or parent process]")
    for t in targets:
        d = rss.get(t, {})
        wk, al = d.get("rss_worker_kib"), d.get("rss_all_kib")
        w(f"  {NAMES[t]:34} worker {fmt(wk and wk / 1024, '6.1f')}  [master {fmt(al and wk and (al - wk) / 1024, '.1f')}]"
          f"  at start {fmt(d.get('rss_start_worker_kib') and d['rss_start_worker_kib'] / 1024, '.1f')}"
          f"  after reloads {fmt(d.get('rss_after_reloads_worker_kib') and d['rss_after_reloads_worker_kib'] / 1024, '.1f')}"
          f"  peak before reloads (VmHWM) {fmt(d.get('hwm_before_reloads_kib') and d['hwm_before_reloads_kib'] / 1024, '.1f')}")
    dk = None
    if rss.get("foyer100k", {}).get("rss_worker_kib") and rss.get("foyer10", {}).get("rss_worker_kib"):
        dk = (rss["foyer100k"]["rss_worker_kib"] - rss["foyer10"]["rss_worker_kib"]) / 1024
        w(f"  foyer worker, big set - 10 routes: +{dk:.1f} MiB (target <= 64 MiB: {'met' if dk <= 64 else 'NOT met'})")
    w("")
    w("config check (wall ms, median):")
    for k, v in checks.items():
        label = {"foyer10": "foyer -t, 10 hosts", "foyer100k": f"foyer -t, {hosts:,} hosts",
                 "haproxy": f"haproxy -c, {hosts:,} x 3 map"}.get(k, k.replace("nginx", "nginx -t, server blocks: "))
        w(f"  {label:34} {v['ms_median']:8.0f} ms   {v['ms']}{'' if v['rc'] == 0 else '  FAILED rc=' + str(v['rc'])}")
    w("")
    w("reload: signal -> a new connection sees the changed route (ms); stall = slowest keep-alive")
    w("answer in flight during the reload; log = when the proxy logged it")
    for t, d in rel.items():
        logs = "; ".join(f"'{k[len('log_ms_median['):-1]}' {d[k]:.0f} (max {d['log_ms_max[' + k[len('log_ms_median['):]]:.0f})"
                         for k in d if k.startswith("log_ms_median["))
        w(f"  {NAMES[t]:34} seen median {fmt(d['seen_ms_median'], '.0f')} max {fmt(d['seen_ms_max'], '.0f')}"
          f" ({d['n']} reloads{', ' + str(d['not_seen']) + ' NOT SEEN' if d['not_seen'] else ''});"
          f" stall median {fmt(d['ka_stall_ms_median'], '.0f')} max {fmt(d['ka_stall_ms_max'], '.0f')}")
        w(f"  {'':34} log: {logs}")
        w(f"  {'':34} keep-alive errors {d['ka_errors']}, probe errors {d['probe_errors']}, "
          f"old-route answers before the switch {d['old_answers']}; workers seen {d['workers']}"
          f"; RSS (children) before {fmt(d['rss_before_kib'] and d['rss_before_kib'] / 1024, '.1f')} MiB,"
          f" max during {fmt(d['rss_max_kib'] / 1024, '.1f')} MiB (sampled every 2 ms),"
          f" peak of one process (VmHWM) {fmt(d['hwm_max_kib'] / 1024, '.1f')} MiB")
        if d["ka_error_samples"]:
            w(f"  {'':34} e.g. {d['ka_error_samples']}")
    if a.foyer_errors:
        try:
            with open(a.foyer_errors) as f:
                lines = f.read().splitlines()
        except OSError:
            lines = []
        w("")
        w(f"foyer error lines (route errors, refused reloads, restarted workers): {len(lines)}")
        for ln in lines[:5]:
            w("  " + ln)
    txt = "\n".join(out) + "\n"
    sys.stdout.write(txt)
    with open(a.txt, "w") as f:
        f.write(txt)
    with open(a.json, "w") as f:
        json.dump({"meta": meta, "load": load, "ratios": ratios, "rss": rss, "rss_delta_mib": dk,
                   "checks": checks, "reloads": rel, "info": info, "runs": runs,
                   "reload_runs": reloads}, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
