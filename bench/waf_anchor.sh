#!/usr/bin/env bash
# bench/waf_anchor.sh: foyer's WAF against its anchor, ModSecurity + OWASP CRS,
# in the same run on the same machine.
#
# The anchor is what Debian 12 ships: nginx 1.22 with libnginx-mod-http-modsecurity
# (ModSecurity 3.0.9, libmodsecurity3) and modsecurity-crs (CRS 3.3.4), paranoia
# level 1, SecRuleEngine On, inbound anomaly threshold 5, proxying to the bench
# backend. The script
#   1. replays the labelled corpus (CORPUS, one fresh connection per request,
#      403 = blocked) through the anchor (tests/waf/corpus_replay.py
#      --target-port) and through foyer + waf.so (corpus_replay.py's own mode),
#      and prints detection per attack class and false positives per benign
#      subclass side by side;
#   2. measures µs of proxy CPU per request on bench/waf.sh's small benign GET
#      for nginx bare, nginx + ModSecurity + CRS, foyer off and foyer waf,
#      interleaved for ROUNDS rounds, medians, each WAF against its own "off".
#
# Install the anchor (not needed by CI, only here):
#   apt-get install -y nginx libnginx-mod-http-modsecurity modsecurity-crs wrk
#
# Builds nothing: run `make` first. Everything on 127.0.0.1 ephemeral ports, in
# one mktemp directory; stops exactly what it started (lib.sh).
#
# Environment (defaults in brackets): ROUNDS [3], DURATION s [4], CONNS [50],
# CORPUS [../shared/corpus/waf/public.jsonl], PARANOIA [1], THRESHOLD [5],
# CRS_MODE [anomaly; or self-contained: every CRS rule that matches denies at
# once], AUDIT [0; 1 = ModSecurity audit log of relevant requests in the temp
# dir], WAF_SO [plugins/waf/.libs/waf.so], RESULTS [bench/results]
# (waf-anchor-latest.txt|json), FOYER, BACKEND, PROXY_CPU, LOAD_CPU, KEEP_TMP as
# for run.sh.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-4}
CONNS=${CONNS:-50}
RESULTS=${RESULTS:-$REPO/bench/results}
WAF_SO=${WAF_SO:-$REPO/plugins/waf/.libs/waf.so}
CORPUS=${CORPUS:-$REPO/../shared/corpus/waf/public.jsonl}
PARANOIA=${PARANOIA:-1}
THRESHOLD=${THRESHOLD:-5}
CRS_MODE=${CRS_MODE:-anomaly}
AUDIT=${AUDIT:-0}
REPLAY=$REPO/tests/waf/corpus_replay.py
# The GET of bench/waf.sh (with the browser-like headers of waf_load.lua).
GET_PATH="/size/100?id=42&q=pizza+margherita"

# --- the anchor's packages, and where Debian puts their files ------------------
APT_HINT="apt-get install -y nginx libnginx-mod-http-modsecurity modsecurity-crs"
for pkg in libnginx-mod-http-modsecurity libmodsecurity3 modsecurity-crs; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
		die "package $pkg is not installed: $APT_HINT"
done
command -v "$NGINX" >/dev/null || die "nginx not found: $APT_HINT"
command -v wrk >/dev/null || die "wrk not found: apt-get install -y wrk"
# Paths from the packages' file lists, not guessed.
MODSEC_MODULE=$(dpkg -L libnginx-mod-http-modsecurity | grep -m1 '/ngx_http_modsecurity_module\.so$') ||
	die "no ngx_http_modsecurity_module.so in libnginx-mod-http-modsecurity"
# Debian's recommended ModSecurity settings (modsecurity.conf-recommended as
# packaged: SecRuleEngine DetectionOnly, request body access, body limits...).
MODSEC_CONF=$(dpkg -L libnginx-mod-http-modsecurity | grep -m1 '^/etc/nginx/modsecurity\.conf$') ||
	die "no /etc/nginx/modsecurity.conf in libnginx-mod-http-modsecurity"
CRS_SETUP=$(dpkg -L modsecurity-crs | grep -m1 '/crs-setup\.conf$') ||
	die "no crs-setup.conf in modsecurity-crs"
CRS_ETC=$(dirname "$CRS_SETUP")
CRS_RULES=$(dpkg -L modsecurity-crs | grep -m1 '/rules/REQUEST-949-BLOCKING-EVALUATION\.conf$') ||
	die "no CRS rules in modsecurity-crs"
CRS_RULES=$(dirname "$CRS_RULES")
for f in "$MODSEC_MODULE" "$MODSEC_CONF" "$CRS_SETUP"; do
	[ -r "$f" ] || die "$f missing (reinstall: $APT_HINT)"
done
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
V_MODSEC=$(ver libmodsecurity3) V_CRS=$(ver modsecurity-crs) V_CONNECTOR=$(ver libnginx-mod-http-modsecurity)
case $V_MODSEC in 3.0.9*) ;; *) warn "libmodsecurity3 $V_MODSEC, the anchor was measured with 3.0.9" ;; esac
case $V_CRS in 3.3.4*) ;; *) warn "modsecurity-crs $V_CRS, the anchor was measured with 3.3.4" ;; esac
case $CRS_MODE in anomaly | self-contained) ;; *) die "CRS_MODE must be anomaly or self-contained" ;; esac

[ -r "$WAF_SO" ] || die "$WAF_SO not built: run make"
[ -x "$FOYER" ] || die "$FOYER not built: run make"
[ -r "$CORPUS" ] || die "corpus $CORPUS not found (set CORPUS=)"
CORPUS=$(cd "$(dirname "$CORPUS")" && pwd)/$(basename "$CORPUS")

bench_setup
mkdir -p "$RESULTS"
export BENCH_DIR
RAW=$T/raw.jsonl

# --- ModSecurity + CRS rules ---------------------------------------------------
MS=$T/modsec
mkdir -p "$MS/tmp"
# CRS's own setup file as Debian installs it; the mode line swapped if asked
# for, then paranoia and threshold pinned explicitly (rather than trusting the
# defaults of REQUEST-901) so that the file says what the anchor is.
if [ "$CRS_MODE" = self-contained ]; then
	# crs-setup.conf.example's "Self-contained mode, return error 403 on blocking".
	sed -E 's/^SecDefaultAction "phase:([12]),log,auditlog,pass"/SecDefaultAction "phase:\1,log,auditlog,deny,status:403"/' \
		"$CRS_SETUP" >"$MS/crs-setup.conf"
else
	# Anomaly scoring (CRS 3's default, Debian's file as is): rules add to a
	# score, REQUEST-949's rule 949110 denies (403) once it reaches THRESHOLD.
	cp "$CRS_SETUP" "$MS/crs-setup.conf"
fi
cat >>"$MS/crs-setup.conf" <<EOF

# --- bench/waf_anchor.sh ---
SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=$PARANOIA"
SecAction "id:900110,phase:1,nolog,pass,t:none,setvar:tx.inbound_anomaly_score_threshold=$THRESHOLD,setvar:tx.outbound_anomaly_score_threshold=4"
EOF
if [ "$AUDIT" = 1 ]; then audit=RelevantOnly; else audit=Off; fi
# Same order as Debian's modsecurity_includes.conf + owasp-crs.load, with the
# few settings a blocking anchor in a temp dir needs put after Debian's file
# (a later directive wins). libmodsecurity 3.0.9 has no IncludeOptional (which
# owasp-crs.load uses for the two exclusion files): include them if present.
include_if() { if [ -r "$1" ]; then echo "Include $1"; fi; }
cat >"$MS/main.conf" <<EOF
Include $MODSEC_CONF
SecRuleEngine On
SecRequestBodyAccess On
SecAuditEngine $audit
SecAuditLog $MS/audit.log
SecTmpDir $MS/tmp/
SecDataDir $MS/tmp/
Include $MS/crs-setup.conf
$(include_if "$CRS_ETC/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf")
Include $CRS_RULES/*.conf
$(include_if "$CRS_ETC/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf")
EOF

start_backend
declare -A PORT PID
# nginx with and without ModSecurity: lib.sh's start_nginx (1 worker, upstream
# keep-alive, the same header rewriting); the bare one differs only in not
# loading the module.
PORT[nginx]=$(free_port)
start_nginx "${PORT[nginx]}" nginx || die "nginx did not start"
PID[nginx]=$PROXY_PID
PORT[modsec]=$(free_port)
NGINX_MAIN_EXTRA="load_module $MODSEC_MODULE;" \
	NGINX_SERVER_EXTRA="    modsecurity on; modsecurity_rules_file $MS/main.conf;" \
	start_nginx "${PORT[modsec]}" modsec || die "nginx + ModSecurity did not start"
PID[modsec]=$PROXY_PID
PORT[off]=$(free_port)
FOYER_EXTRA='' start_foyer "${PORT[off]}" off || die "foyer (off) did not start"
PID[off]=$PROXY_PID
PORT[waf]=$(free_port)
FOYER_EXTRA="plugin \"waf\" { path = \"$WAF_SO\", mode = \"block\" }" \
	start_foyer "${PORT[waf]}" waf || die "foyer (waf) did not start"
PID[waf]=$PROXY_PID

# The anchor must really block (a config that loads but only detects would
# pass every request), and every target must pass the benchmark's GET.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[modsec]}/?q=1%27%20or%20%271%27=%271")
[ "$code" = 403 ] || die "nginx+ModSecurity answered $code, not 403, to a textbook SQL injection; see $T/modsec/error.log"
for t in nginx modsec off waf; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $HOST_HEADER" \
		-A 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' \
		-H 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' \
		"http://127.0.0.1:${PORT[$t]}$GET_PATH")
	[ "$code" = 200 ] || die "$t answered $code to the benchmark GET"
done

# --- 1. the corpus, through both -----------------------------------------------
log "replaying $(wc -l <"$CORPUS") requests through nginx + ModSecurity + CRS"
"$PY" "$REPLAY" --corpus "$CORPUS" --target-port "${PORT[modsec]}" \
	--json "$T/anchor.json" --cases-out "$T/anchor.cases" >"$T/anchor.replay.txt" ||
	die "replay through the anchor failed: $(tail -n 5 "$T/anchor.replay.txt")"
log "replaying it through foyer + waf.so"
# Its own foyer and backend (and its check that blocked requests never reach
# the backend); a non-zero exit here is only that check failing: report it.
"$PY" "$REPLAY" --corpus "$CORPUS" --foyer "$FOYER" --waf "$WAF_SO" --backend "$BACKEND" \
	--json "$T/foyer.json" --cases-out "$T/foyer.cases" >"$T/foyer.replay.txt" ||
	warn "foyer replay: $(grep FAIL "$T/foyer.replay.txt" || tail -n 3 "$T/foyer.replay.txt")"

# --- 2. CPU per request ----------------------------------------------------------
run() { # ROUND TARGET
	BENCH_BODY_FILE='' "$PY" "$BENCH_DIR/proxycpu.py" wrk --pid "${PID[$2]}" --backend-pid "$BACKEND_PID" \
		--out "$RAW" --log "$T/wrk.log" --meta round="$1" --meta workload=get --meta target="$2" \
		-- wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency -s "$BENCH_DIR/waf_load.lua" \
		-H "Host: $HOST_HEADER" "http://127.0.0.1:${PORT[$2]}$GET_PATH" >/dev/null
}
TARGETS=(nginx modsec off waf)
for t in "${TARGETS[@]}"; do run 0 "$t"; done # warm-up, not counted
: >"$RAW"
for ((r = 1; r <= ROUNDS; r++)); do
	log "CPU round $r/$ROUNDS"
	# Rotate the order so that a noisy moment does not always hit the same one.
	for ((i = 0; i < ${#TARGETS[@]}; i++)); do
		run "$r" "${TARGETS[$(((i + r - 1) % ${#TARGETS[@]}))]}"
	done
done

# --- the report ------------------------------------------------------------------
META=$T/meta.json
"$PY" - "$META" <<EOF
import json, sys
json.dump({"date": "$(date -u +%Y%m%dT%H%M%SZ)", "kernel": "$(uname -sr)",
           "cpus": $(getconf _NPROCESSORS_ONLN), "loadavg": "$(cut -d' ' -f1-3 /proc/loadavg)",
           "proxy_cpu": $PROXY_CPU, "load_cpu": $LOAD_CPU, "rounds": $ROUNDS,
           "duration_s": $DURATION, "conns": $CONNS, "corpus": "$CORPUS",
           "nginx": "$(version_of nginx)", "foyer": "$(version_of foyer)",
           "libmodsecurity3": "$V_MODSEC", "modsecurity_crs": "$V_CRS",
           "libnginx_mod_http_modsecurity": "$V_CONNECTOR", "crs_mode": "$CRS_MODE",
           "paranoia": $PARANOIA, "inbound_threshold": $THRESHOLD},
          open(sys.argv[1], "w"), indent=1)
EOF
OUT=$T/report.txt
"$PY" - "$T/anchor.cases" "$T/foyer.cases" "$RAW" "$META" "$T/report.json" <<'EOF' | tee "$OUT"
import collections, json, statistics, sys
anchor_f, foyer_f, raw_f, meta_f, json_out = sys.argv[1:]
load = lambda p: [json.loads(l) for l in open(p) if l.strip()]
anchor, foyer = load(anchor_f), load(foyer_f)
status = {"anchor": {c["id"]: c["status"] for c in anchor},
          "foyer": {c["id"]: c["status"] for c in foyer}}
cases = anchor  # the same corpus, same order
meta = json.load(open(meta_f))
pct = lambda b, t: 100.0 * b / t if t else 0.0

def rates(key):
    """{name: (total, anchor blocked, foyer blocked)} grouped by key(case)."""
    g = collections.defaultdict(lambda: [0, 0, 0])
    for c in cases:
        k = key(c)
        if k is None:
            continue
        g[k][0] += 1
        g[k][1] += status["anchor"][c["id"]] == 403
        g[k][2] += status["foyer"][c["id"]] == 403
    return dict(g)

def table(title, groups, total_name, benign=False):
    """Blocked % per group, anchor and foyer; diff = foyer - anchor. Marks the
    rows where the anchor does better (blocks more attacks, or fewer benign)."""
    w = max([20, len(title)] + [len(n) for n in groups])
    print("%-*s %6s %8s %8s %8s" % (w, title, "total", "anchor", "foyer", "diff"))
    tot = [0, 0, 0]
    for name in sorted(groups):
        t, a, f = groups[name]
        tot = [tot[0] + t, tot[1] + a, tot[2] + f]
        mark = "  <- anchor better" if (a < f if benign else a > f) else ""
        print("%-*s %6d %7.1f%% %7.1f%% %+7.1f%s" % (w, name, t, pct(a, t), pct(f, t),
                                                   pct(f, t) - pct(a, t), mark))
    print("%-*s %6d %7.1f%% %7.1f%% %+7.1f" % (w, total_name, tot[0], pct(tot[1], tot[0]),
                                             pct(tot[2], tot[0]),
                                             pct(tot[2], tot[0]) - pct(tot[1], tot[0])))
    return tot

source = lambda c: c["source"].split(":")[0].split("@")[0]
by_class = rates(lambda c: c["class"] if c["label"] == "attack" else None)
by_sub = rates(lambda c: c.get("subclass") or "benign" if c["label"] != "attack" else None)
by_src_att = rates(lambda c: source(c) if c["label"] == "attack" else None)
by_src_ben = rates(lambda c: source(c) if c["label"] != "attack" else None)

mode = ("anomaly threshold %d" % meta["inbound_threshold"] if meta["crs_mode"] == "anomaly"
        else meta["crs_mode"])
print("## WAF detection: nginx + ModSecurity %s + CRS %s (PL %d, %s, blocking) vs foyer waf"
      % (meta["libmodsecurity3"].split("-")[0], meta["modsecurity_crs"].split("-")[0],
         meta["paranoia"], mode))
print("## %s, %d requests, each on a fresh connection; blocked = answered 403" % (
    meta["corpus"].split("/")[-1], len(cases)))
print()
att = table("attack class", by_class, "ALL ATTACKS")
print()
ben = table("benign subclass (FP)", by_sub, "ALL BENIGN (FP)", benign=True)
print("\n(the anchor as published with the corpus: 73.7% of attacks, 10.6% of benign blocked)")
print()
table("attacks by source", by_src_att, "ALL ATTACKS")
print()
table("benign by source (FP)", by_src_ben, "ALL BENIGN (FP)", benign=True)

# Who blocks what the other lets through, and what else the two answered.
only = collections.defaultdict(collections.Counter)
for c in cases:
    a, f = status["anchor"][c["id"]] == 403, status["foyer"][c["id"]] == 403
    if a != f:
        who = "anchor" if a else "foyer"
        what = "blocks attacks the other passes" if c["label"] == "attack" else \
               "blocks benign the other passes"
        only[(who, what)][c["class"] if c["label"] == "attack" else
                          (c.get("subclass") or "benign")] += 1
print()
for (who, what), cnt in sorted(only.items()):
    print("only %-6s %s: %d (%s)" % (who, what, sum(cnt.values()),
          ", ".join("%s %d" % kv for kv in cnt.most_common())))
# e.g. nginx's own 400 to a malformed request: not counted as blocked.
other = {w: collections.Counter((status[w][c["id"]], c["class"]) for c in cases
                                if status[w][c["id"]] not in (200, 403))
         for w in ("anchor", "foyer")}
for w in ("anchor", "foyer"):
    if other[w]:
        print("%-6s answered neither 200 nor 403: %s" % (w, ", ".join(
            "%s %s x%d" % ("no answer" if s == 0 else s, k, n)
            for (s, k), n in sorted(other[w].items()))))

# CPU
rows = load(raw_f)
names = {"nginx": "nginx bare", "modsec": "nginx+ModSec+CRS", "off": "foyer off",
         "waf": "foyer waf"}
base = {"modsec": "nginx", "waf": "off"}
cpu = {}
for t in names:
    v = [r["cpu_us_per_req"] for r in rows if r["target"] == t and r.get("cpu_us_per_req")]
    errs = sum(sum(r.get("errors", {}).values()) for r in rows if r["target"] == t)
    rps = [r["rps"] for r in rows if r["target"] == t and r.get("rps")]
    cpu[t] = {"median_us": statistics.median(v) if v else None, "min_us": min(v, default=None),
              "max_us": max(v, default=None), "runs": len(v), "errors": errs,
              "rps_median": statistics.median(rps) if rps else None}
for t, b in base.items():
    if cpu[t]["median_us"] and cpu[b]["median_us"]:
        cpu[t]["ratio_to_off"] = cpu[t]["median_us"] / cpu[b]["median_us"]
print()
print("## CPU per small benign GET (bench/waf.sh's): median µs of proxy CPU per request,"
      " %d rounds x %d s, %d connections" % (meta["rounds"], meta["duration_s"], meta["conns"]))
print()
print("%-18s %9s %17s %10s %8s %7s" % ("", "µs/req", "(min..max)", "/ own off", "req/s",
                                        "errors"))
f = lambda v, s: format(v, s) if v is not None else "-"
for t, n in names.items():
    c = cpu[t]
    ratio = ("%.2fx" % c["ratio_to_off"]) if "ratio_to_off" in c else ""
    print("%-18s %9s %17s %10s %8s %7d" % (n, f(c["median_us"], ".1f"),
          "(%s..%s)" % (f(c["min_us"], ".1f"), f(c["max_us"], ".1f")), ratio,
          f(c["rps_median"], ".0f"), c["errors"]))
print("(own off: nginx bare for nginx+ModSec+CRS, foyer off for foyer waf)")
if cpu["modsec"]["median_us"] and cpu["waf"]["median_us"]:
    print("\nWAF alone (median minus its off): ModSecurity+CRS %.1f µs, foyer waf %.1f µs;"
          " nginx+ModSec+CRS / foyer waf = %.1fx" % (
              cpu["modsec"]["median_us"] - cpu["nginx"]["median_us"],
              cpu["waf"]["median_us"] - cpu["off"]["median_us"],
              cpu["modsec"]["median_us"] / cpu["waf"]["median_us"]))

json.dump({"meta": meta,
           "detection": {"classes": by_class, "benign_subclasses": by_sub,
                         "attack_sources": by_src_att, "benign_sources": by_src_ben,
                         "columns": ["total", "anchor_blocked", "foyer_blocked"],
                         "attack": {"total": att[0], "anchor_pct": pct(att[1], att[0]),
                                    "foyer_pct": pct(att[2], att[0])},
                         "benign": {"total": ben[0], "anchor_pct": pct(ben[1], ben[0]),
                                    "foyer_pct": pct(ben[2], ben[0])},
                         "disagreements": {"%s: %s" % k: dict(v) for k, v in only.items()},
                         "other_statuses": {w: {"%s %s" % sk: n for sk, n in v.items()}
                                            for w, v in other.items()}},
           "cpu": cpu, "cpu_runs": rows,
           "cases": [{"id": c["id"], "label": c["label"], "class": c["class"],
                      "anchor": status["anchor"][c["id"]], "foyer": status["foyer"][c["id"]]}
                     for c in cases]},
          open(json_out, "w"), indent=1)
EOF
{
	echo
	echo "($(uname -sr), $(getconf _NPROCESSORS_ONLN) CPUs, proxies on CPU $PROXY_CPU, wrk and backend on CPU $LOAD_CPU, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y%m%dT%H%M%SZ))"
} | tee -a "$OUT"
cp "$OUT" "$RESULTS/waf-anchor-latest.txt"
cp "$T/report.json" "$RESULTS/waf-anchor-latest.json"
log "results: $RESULTS/waf-anchor-latest.txt, $RESULTS/waf-anchor-latest.json"
