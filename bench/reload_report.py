#!/usr/bin/env python3
"""Report of bench/reload.sh (stdlib only): one row per proxy from the JSON
files reload_load.py wrote.

    reload_report.py --txt OUT --json OUT [--meta K=V ...] RESULT.json ...
"""
import argparse
import json
import sys


def fmt(v, spec="", none="-"):
    return format(v, spec) if isinstance(v, (int, float)) else none


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--txt", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--meta", action="append", default=[])
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    meta = dict(m.split("=", 1) for m in a.meta)
    res = [json.load(open(f)) for f in a.files]

    out = []
    w = out.append
    w(f"reload under load, {meta.get('date', '')}: {meta.get('reloads')} reloads every "
      f"{meta.get('interval_s')} s, route set alternating A/B")
    w(f"  {meta.get('host', '')}, {meta.get('cpus', '?')} CPUs, loadavg {meta.get('loadavg_start', '?')}"
      f" -> {meta.get('loadavg_end', '?')}")
    w(f"  clients: {meta.get('clients', '')}")
    w(f"  {meta.get('foyer_binary', '')}")
    w(f"  {meta.get('version_foyer', '')}; {meta.get('version_nginx', '')}; {meta.get('version_haproxy', '')}")
    w("")
    kinds = ("ka", "newconn", "upload", "probe", "ws")
    w(f"{'proxy':8} {'failed':>6} " + " ".join(f"{k + ' fail/ok':>16}" for k in kinds) +
      f" {'WS cuts':>7} {'idle-closed':>11} {'stale':>5} {'seen ms med':>11} {'max':>6} {'reloads':>7}")
    for r in res:
        k = r["kinds"]
        cells = []
        for n in kinds:
            v = k.get(n, {})
            cells.append(f"{v.get('failed', 0)}/{v.get('ok', 0)}".rjust(16))
        w(f"{r['label']:8} {r['failed_requests']:6d} " + " ".join(cells) +
          f" {r['ws_cuts']:7d} {sum(v.get('idle_closed', 0) for v in k.values()):11d} {r['stale']:5d}"
          f" {fmt(r.get('seen_ms_median'), '11.1f')}"
          f" {fmt(r.get('seen_ms_max'), '6.1f')} {r['reloads_done']:4d}"
          + (f" ({r['reloads_not_seen']} not seen)" if r["reloads_not_seen"] else "")
          + ("" if r.get("finished", True) else "  DEADLINE HIT")
          + ("" if r.get("alive_at_end", True) else "  PROXY DIED"))
    w("")
    w("failed: requests written that got no complete 2xx answer (ka, newconn, upload, probe);")
    w("idle-closed: keep-alive connections the client found closed before reusing them (not")
    w("failures); stale: answers from the other route set after the probe saw the new one;")
    w("seen: reload start -> the first new connection answered by the new route set.")
    w("")
    w("failure reasons (per client kind):")
    for r in res:
        reasons = {n: v["reasons"] for n, v in r["kinds"].items() if v.get("reasons")}
        w(f"  {r['label']:8} {json.dumps(reasons, sort_keys=True) if reasons else 'none'}")
    w("")
    w("keep-alive connections closed by the proxy without a failure (gracefully with")
    w("Connection: close / found closed while idle), connections opened:")
    for r in res:
        w(f"  {r['label']:8} " + "; ".join(
            f"{n}: {v.get('graceful_closed', 0)} / {v.get('idle_closed', 0)}, {v.get('connections', 0)} conns"
            for n, v in r["kinds"].items() if n in ("ka", "upload")))
    w("")
    w("worker RSS (VmRSS of the master's children, sampled every 20 ms; MiB):")
    for r in res:
        s = r.get("rss") or {}
        st, mx = s.get("steady_kib"), s.get("during_reloads_max_kib")
        af = s.get("after_first_reload_kib")
        w(f"  {r['label']:8} steady {fmt(st and st / 1024, '.1f')}, after the 1st reload {fmt(af and af / 1024, '.1f')},"
          f" during reloads median "
          f"{fmt(s.get('during_reloads_median_kib') and s['during_reloads_median_kib'] / 1024, '.1f')}"
          f" max {fmt(mx and mx / 1024, '.1f')} (x{fmt(s.get('ratio_max_over_steady'), '.2f')}), at the end "
          f"{fmt(s.get('end_kib') and s['end_kib'] / 1024, '.1f')}; up to {s.get('max_processes', '-')} "
          f"worker processes at once")
    w("")
    w("workers before -> after; problems in the proxy's own log:")
    for r in res:
        w(f"  {r['label']:8} {' '.join(r.get('workers_before', []))} -> {' '.join(r.get('workers_after', []))};"
          f" {r.get('proxy_log_problem_count', 0)} lines")
        for ln in r.get("proxy_log_problems", [])[:3]:
            w(f"           {ln[:150]}")
    for r in res:
        if r["failures"] or r["kinds"].get("ws", {}).get("cut_records"):
            w("")
            w(f"{r['label']}: first failures (t s since start, ms since the reload began):")
            for f in r["failures"][:8]:
                w("  " + json.dumps(f, sort_keys=True))
            for c in r["kinds"].get("ws", {}).get("cut_records", [])[:5]:
                w("  ws cut " + json.dumps(c, sort_keys=True))
    txt = "\n".join(out) + "\n"
    sys.stdout.write(txt)
    with open(a.txt, "w") as f:
        f.write(txt)
    with open(a.json, "w") as f:
        json.dump({"meta": meta, "results": res}, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
