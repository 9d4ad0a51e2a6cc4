#!/usr/bin/env python3
"""Report of bench/tls.sh (standard library only).

    tls_report.py RAW.jsonl OUT.txt OUT.json "TARGETS" DATE HOST ROUNDS DURATION \
                  FOYER_VERSION NGINX_VERSION HAPROXY_VERSION OPENSSL_VERSION

RAW holds one JSON record per run (tls.sh's run_load and measure_idle). The
table gives, per workload and target, the median over rounds of the proxy's
CPU time per operation (idle: RSS per connection), foyer's figure over the
better peer's of the same round (median over rounds), and the issue's
absolute targets.
"""
import json, statistics, sys
raw, txt, js, targets, date, host, rounds, duration, vf, vn, vh, vo = sys.argv[1:]
targets = targets.split()
recs = [json.loads(l) for l in open(raw) if l.strip()]
goal = {"full-ecdsa": 440, "resumed": 370, "keepalive": 21.6, "idle": 14}
names = {"full-ecdsa": "full handshake + GET, ECDSA (us CPU)",
         "full-rsa": "full handshake + GET, RSA-2048 (us CPU)",
         "resumed": "resumed handshake + GET (us CPU)",
         "keepalive": "HTTPS keep-alive GET (us CPU)",
         "idle": "RSS per idle TLS connection (KiB)"}
out, med, ratios = [], {}, {}
out.append("foyer TLS benchmark  %s" % date)
out.append("  %s; %s rounds x %s s; proxies pinned to one CPU, 1 worker; %s" % (host, rounds, duration, vo))
out.append("  foyer: %s | nginx: %s | haproxy: %s" % (vf, vn, vh))
out.append("")
out.append("%-40s" % "median per operation" + "".join("%10s" % t for t in targets) +
           "  foyer/best peer   issue #5 target (absolute)")
out.append("-" * (40 + 10 * len(targets) + 46))
for w in ["full-ecdsa", "full-rsa", "resumed", "keepalive", "idle"]:
    key = "kib_per_conn" if w == "idle" else "cpu_us_per_op"
    row, per_round = {}, {}
    for t in targets:
        v = [r[key] for r in recs if r.get("workload") == w and r.get("target") == t and r.get(key)]
        if v: row[t] = statistics.median(v)
        for r in recs:
            if r.get("workload") == w and r.get("target") == t and r.get(key):
                per_round.setdefault(r["round"], {})[t] = r[key]
    if not row: continue
    med[w] = row
    line = "%-40s" % names[w] + "".join("%10s" % ("%.1f" % row[t] if t in row else "-") for t in targets)
    # foyer against the better peer of the same round (runs are interleaved), median over rounds
    rr = [v["foyer"] / min(x for k, x in v.items() if k != "foyer") for v in per_round.values()
          if "foyer" in v and len(v) > 1]
    if rr:
        ratios[w] = statistics.median(rr)
        line += "  %10.2fx      " % ratios[w]
    else:
        line += "  %10s      " % "-"
    if w in goal and "foyer" in row:
        line += "  <= %g: %s" % (goal[w], "ok" if row["foyer"] <= goal[w] else "MISSED")
    out.append(line)
out.append("(foyer/best peer: per round, foyer's figure over the better of nginx and HAProxy in the")
out.append(" same round, median over rounds; the issue asks for at most 0.90x.)")
out.append("")
out.append("resumptions counted by the client (must be 0 for full, all for resumed):")
for w in ["full-ecdsa", "full-rsa", "resumed"]:
    for t in targets:
        rs = [r for r in recs if r.get("workload") == w and r.get("target") == t]
        if rs:
            out.append("  %-10s %-8s handshakes %8d  reused %8d  errors %d" % (w, t,
                sum(r["handshakes"] for r in rs), sum(r["reused"] for r in rs), sum(max(r["errors"], 0) for r in rs)))
out.append("")
out.append("throughput (ops/s, median): " + "; ".join("%s %s" % (w, ", ".join("%s %.0f" % (t, statistics.median([r["rate"] for r in recs if r.get("workload") == w and r.get("target") == t])) for t in targets if any(r.get("workload") == w and r.get("target") == t for r in recs))) for w in ["full-ecdsa", "full-rsa", "resumed", "keepalive"] if any(r.get("workload") == w for r in recs)))
text = "\n".join(out) + "\n"
open(txt, "w").write(text)
json.dump({"date": date, "host": host, "rounds": int(rounds), "duration": duration, "medians": med,
           "foyer_over_best_peer": ratios, "runs": recs}, open(js, "w"), indent=1, sort_keys=True)
sys.stdout.write(text)
