#!/usr/bin/env bash
# bench/waf.sh: what the waf plugin costs, in µs of proxy CPU per request.
#
# foyer without the plugin and foyer with `plugin "waf" { mode = "block" }`
# (1 worker each, same backend, access log off), interleaved for ROUNDS
# rounds, on two benign workloads:
#   get   a small GET with a query and browser-like headers and cookies
#   json  a 2 KiB JSON POST (an order with prose fields and apostrophes)
# Reports the median CPU per request of each and the ratio waf/off (the
# targets: at most 1.15 on the GET, 1.5 on the JSON POST), with p99.
#
# Builds nothing: run `make` first. Everything on 127.0.0.1 ephemeral ports,
# in one mktemp directory; stops exactly what it started (lib.sh).
#
# Environment (defaults in brackets): ROUNDS [5], DURATION s [4], CONNS [50],
# WAF_SO [plugins/waf/.libs/waf.so], RESULTS [bench/results] (waf-latest.txt),
# FOYER, BACKEND, PROXY_CPU, LOAD_CPU, KEEP_TMP as for run.sh.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-4}
CONNS=${CONNS:-50}
RESULTS=${RESULTS:-$REPO/bench/results}
WAF_SO=${WAF_SO:-$REPO/plugins/waf/.libs/waf.so}

bench_setup
[ -r "$WAF_SO" ] || die "$WAF_SO not built: run make"
mkdir -p "$RESULTS"
export BENCH_DIR
RAW=$T/raw.jsonl

# A 2 KiB order: nested objects, numbers, a different prose note per item
# (apostrophes, parentheses, '&', ';', ':' and "--", as customers write).
"$PY" - "$T/order.json" <<'EOF'
import json, sys
notes = ["extra basil, please; it's for Tom's birthday", "no onions (allergy!) - thanks",
         "half pepperoni; half mushroom & olives", "well done, crispy edges if you can",
         "cut into 8 slices, not 6", "gluten-free base; we'll pick it up at 7:30",
         "Don't add chilli: the kids won't eat it", "light on the cheese -- doctor's orders",
         "surprise us! (no anchovies though)"]
items = [{"sku": "PZ-%03d" % i, "name": "Margherita %d" % i, "qty": i % 3 + 1,
          "price": 8.5 + i, "notes": notes[i]} for i in range(9)]
order = {"customer": {"name": "O'Brien", "email": "ann.obrien@example.com",
                      "phone": "+44 20 7946 0958"},
         "address": {"street": "12 Baker's Row", "city": "London", "zip": "NW1 6XE"},
         "items": items, "delivery": {"when": "2026-11-27T19:30:00Z",
         "instructions": "Ring twice -- the bell's broken. Don't leave it at the door!"},
         "coupon": "WINTER-10", "tip": 3.5}
text = json.dumps(order)
text += " " * max(0, 2048 - len(text))
open(sys.argv[1], "w").write(text)
EOF

start_backend
PORT_OFF=$(free_port)
FOYER_EXTRA= start_foyer "$PORT_OFF" off || die "foyer (off) did not start"
PID_OFF=$PROXY_PID
PORT_WAF=$(free_port)
FOYER_EXTRA="plugin \"waf\" { path = \"$WAF_SO\", mode = \"block\" }" \
	start_foyer "$PORT_WAF" waf || die "foyer (waf) did not start"
PID_WAF=$PROXY_PID

# Both must pass the workloads (a false positive here would be a 403).
for port in "$PORT_OFF" "$PORT_WAF"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary @"$T/order.json" "http://127.0.0.1:$port/sink")
	[ "$code" = 200 ] || die "JSON POST answered $code on port $port"
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/size/100?id=42&q=pizza+margherita")
	[ "$code" = 200 ] || die "GET answered $code on port $port"
done

run() { # ROUND WORKLOAD TARGET
	local port pid path body=
	if [ "$3" = waf ]; then port=$PORT_WAF pid=$PID_WAF; else port=$PORT_OFF pid=$PID_OFF; fi
	if [ "$2" = json ]; then path=/sink body=$T/order.json; else path="/size/100?id=42&q=pizza+margherita"; fi
	BENCH_BODY_FILE=$body "$PY" "$BENCH_DIR/proxycpu.py" wrk --pid "$pid" --backend-pid "$BACKEND_PID" \
		--out "$RAW" --log "$T/wrk.log" --meta round="$1" --meta workload="$2" --meta target="$3" \
		-- wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency -s "$BENCH_DIR/waf_load.lua" \
		-H "Host: $HOST_HEADER" "http://127.0.0.1:$port$path" >/dev/null
}

for t in off waf; do run 0 get "$t"; done # warm-up, not counted
: >"$RAW"
for ((r = 1; r <= ROUNDS; r++)); do
	log "round $r/$ROUNDS"
	for w in get json; do
		if ((r % 2)); then order="off waf"; else order="waf off"; fi
		for t in $order; do run "$r" "$w" "$t"; done
	done
done

OUT=$T/report.txt
"$PY" - "$RAW" <<'EOF' | tee "$OUT"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(w, t, k):
    v = [r[k] for r in rows if r["workload"] == w and r["target"] == t and r.get(k) is not None]
    return statistics.median(v) if v else float("nan")
key = "cpu_us_per_req" if "cpu_us_per_req" in rows[0] else "proxy_cpu_us"
print("## waf plugin cost: median µs of proxy CPU per request (%d rounds)" % max(int(r["round"]) for r in rows))
print()
print("%-6s %10s %10s %7s %10s %10s %8s" % ("", "off", "waf", "ratio", "p99 off", "p99 waf", "errors"))
for w, target in (("get", 1.15), ("json", 1.5)):
    off, waf = med(w, "off", key), med(w, "waf", key)
    errs = sum(sum(r.get("errors", {}).values()) if isinstance(r.get("errors"), dict) else 0
               for r in rows if r["workload"] == w)
    print("%-6s %10.2f %10.2f %6.2fx %9.2fms %9.2fms %8d   (target <= %.2fx)" % (
        w, off, waf, waf / off, med(w, "off", "p99_us") / 1000, med(w, "waf", "p99_us") / 1000,
        errs, target))
EOF
{
	echo
	echo "($(uname -sr), $(getconf _NPROCESSORS_ONLN) CPUs, foyer on CPU $PROXY_CPU, wrk and backend on CPU $LOAD_CPU, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y%m%dT%H%M%SZ))"
} | tee -a "$OUT"
cp "$OUT" "$RESULTS/waf-latest.txt"
