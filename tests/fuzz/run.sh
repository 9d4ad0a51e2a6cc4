#!/bin/bash
# Builds the libFuzzer targets (if needed) and runs each for SECONDS.
#
#   tests/fuzz/run.sh SECONDS [TARGET...]      (default: every target)
#
# For each target: the regression inputs (tests/fuzz/regressions/<target>/)
# are replayed first, then libFuzzer runs from the seed corpus
# (tests/fuzz/seeds/<target>/, plus cases made from ../shared/corpus when it
# exists) with new units and crash files kept in a temporary directory.
# Prints per target how long it ran clean and the executions done; exits 1
# when any target crashed, leaked, timed out or failed a regression input.
#
# Environment:
#   FOYER_FUZZ_BUILD   where the binaries are built (default tests/fuzz/build
#                      in the source tree; `make fuzz` uses the build tree's)
#   FOYER_FUZZ_WORK    working directory to keep (corpus, crashes); default a
#                      new mktemp directory, removed when nothing crashed
#   FOYER_FUZZ_JOBS    make -j for the build (default: nproc)
#   FOYER_FUZZ_NOBUILD set to 1 to use the binaries as they are
#   FOYER_SHARED       the shared corpus directory (default ../shared)
#   CC_FUZZ            the compiler (default clang)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/fuzz"
all_targets="request_head chunked response_head config router waf"

usage() {
    echo "usage: $0 SECONDS [TARGET...]   (targets: $all_targets)" >&2
    exit 2
}
[ $# -ge 1 ] || usage
secs=$1
shift
case "$secs" in '' | *[!0-9]*) usage ;; esac
targets=${*:-$all_targets}
for t in $targets; do
    case " $all_targets " in *" $t "*) ;; *) usage ;; esac
done

build=${FOYER_FUZZ_BUILD:-$here/build}
if [ "${FOYER_FUZZ_NOBUILD:-0}" != 1 ]; then
    make -s -f "$here/fuzz.mk" srcdir="$top" out="$build" FUZZ_CC="${CC_FUZZ:-clang}" \
        -j"${FOYER_FUZZ_JOBS:-$(nproc)}" >&2 || {
        echo "fuzz: build failed" >&2
        exit 1
    }
fi

if [ -n "${FOYER_FUZZ_WORK:-}" ]; then
    work=$FOYER_FUZZ_WORK
    keep_work=1
    mkdir -p "$work"
else
    work=$(mktemp -d /tmp/foyer-fuzz.XXXXXX)
    keep_work=0
fi

max_len() {
    case $1 in
    router | waf) echo 8192 ;;
    *) echo 4096 ;;
    esac
}

dict() {
    case $1 in
    request_head | response_head | chunked) echo "$here/dict/http.dict" ;;
    router) echo "$here/dict/json.dict" ;;
    config) echo "$here/dict/lua.dict" ;;
    esac
}

# Cases of ../shared/corpus as inputs of the targets (never copied into the
# repository: made afresh in the working directory).
shared=${FOYER_SHARED:-$top/../shared}
extra="$work/shared"
if [ -d "$shared/corpus" ] && command -v python3 >/dev/null; then
    python3 - "$shared/corpus" "$extra" "$here/seeds/router/ingress" <<'EOF' ||
import base64, json, os, sys
corpus, out, router_seed = sys.argv[1:4]
def put(target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)
try:
    doc = json.load(open(os.path.join(corpus, "http", "robustness.json")))
    for i, c in enumerate(doc.get("cases", [])):
        raw = base64.b64decode(c["raw_b64"]) if "raw_b64" in c else \
            c["raw_request"].encode("latin-1")
        put("request_head", "http-%03d" % i, bytes([0, i & 255]) + raw)
        head_end = raw.find(b"\r\n\r\n")
        if head_end >= 0 and b"chunked" in raw[:head_end].lower():
            put("chunked", "http-%03d" % i, bytes([i % 16, i & 255]) + raw[head_end + 4:])
except (OSError, ValueError, KeyError) as e:
    print("fuzz: shared http corpus skipped: %s" % e, file=sys.stderr)
try:
    doc = json.load(open(os.path.join(corpus, "routing", "cases.json")))
    table = open(router_seed, "rb").read()[1:].split(b"\0")[0]
    for g, group in enumerate(doc.get("groups", [])):
        specs = []
        for r in group.get("requests", []):
            q = r.get("request", {})
            specs.append(("%s %s %s" % (q.get("method", "GET"), q.get("path", "/"),
                                        q.get("host") or "-")).encode("latin-1", "replace"))
        if specs:
            put("router", "routing-%03d" % g, bytes([g & 255]) + table + b"\0" +
                b"\0".join(specs[:8]))
except (OSError, ValueError, KeyError) as e:
    print("fuzz: shared routing corpus skipped: %s" % e, file=sys.stderr)
try:
    for i, line in enumerate(open(os.path.join(corpus, "waf", "public.jsonl"), encoding="utf-8")):
        c = json.loads(line)
        h = c.get("headers") or {}
        items = h.items() if isinstance(h, dict) else h
        text = "%s %s\n" % (c.get("method", "GET"), c.get("path", "/"))
        text += "".join("%s: %s\n" % (k, v) for k, v in items) + "\n" + (c.get("body") or "")
        put("waf", "waf-%04d" % i, bytes([0x60 if i % 2 else 0x40]) +
            text.encode("utf-8", "surrogateescape"))
except (OSError, ValueError, KeyError) as e:
    print("fuzz: shared waf corpus skipped: %s" % e, file=sys.stderr)
EOF
        echo "fuzz: could not read $shared/corpus; seeds only" >&2
fi

failed=0
report=()
for t in $targets; do
    bin="$build/fuzz_$t"
    crashes="$work/crashes/$t"
    corpus="$work/corpus/$t"
    log="$work/$t.log"
    mkdir -p "$crashes" "$corpus"
    [ -x "$bin" ] || {
        echo "fuzz: $bin missing" >&2
        exit 1
    }
    # 1. the inputs that once crashed
    regs=("$here/regressions/$t"/*)
    if [ -e "${regs[0]}" ]; then
        if ! "$bin" "${regs[@]}" >"$work/$t.regressions.log" 2>&1; then
            report+=("$t: REGRESSION FAILED (log: $work/$t.regressions.log)")
            failed=1
            keep_work=1
            continue
        fi
    fi
    # 2. fuzzing from the seeds
    dirs=("$corpus" "$here/seeds/$t")
    [ -d "$extra/$t" ] && dirs+=("$extra/$t")
    d=$(dict "$t")
    start=$(date +%s)
    "$bin" -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
        ${d:+-dict="$d"} "${dirs[@]}" >"$log" 2>&1
    rc=$?
    ran=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        report+=("$t: clean for ${ran} s, ${execs:-?} executions, corpus $(ls "$corpus" | wc -l) units")
    else
        found=$(ls "$crashes" 2>/dev/null | head -1)
        why=$(grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant broken|.*runtime error)' "$log")
        report+=("$t: FAILED after ${ran} s (${execs:-?} executions): ${why:-exit $rc}; input: $crashes/$found; log: $log")
        failed=1
        keep_work=1
    fi
done

echo "fuzz results (${secs} s per target):"
printf '  %s\n' "${report[@]}"
if [ $keep_work = 1 ]; then
    echo "working directory kept: $work"
else
    rm -rf "$work"
fi
exit $failed
