#!/usr/bin/env bash
# bench/routes_scale.sh: foyer.router at scale. Generates route sets of
# HOSTS host names x 3 path prefixes (in the compact shorthand and spelled out
# as Gateway API does) and a 10-route baseline, then for each measures, in a
# fresh Lua state: router.new(router.load(file)) time, the RSS it adds (after,
# and peak during), and the CPU time of routing requests for random hosts.
#
# Every file lives in one mktemp directory, removed on exit; each measurement
# is bounded by TIMEOUT seconds. Builds nothing: run `make bench/router_scale`
# (or `make check`) first.
#
#   bench/routes_scale.sh                 # 100,000 hosts, 5,000,000 requests each
#   HOSTS=20000 REQUESTS=1000000 bench/routes_scale.sh
#
# Results: printed, and bench/results/routes-scale-latest.txt.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
PROG=${ROUTER_SCALE:-$REPO/bench/router_scale}
HOSTS=${HOSTS:-100000}
REQUESTS=${REQUESTS:-5000000}
TIMEOUT=${TIMEOUT:-120}
RESULTS=$BENCH_DIR/results

if [ ! -x "$PROG" ]; then
    echo "routes_scale: $PROG is not built; run: make bench/router_scale" >&2
    exit 1
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM

# Two processes per file: the first load of a freshly written file also
# waits for I/O on some machines ("first load"); the second is the timing.
run() { # name hosts file
    local first out
    first=$(timeout "$TIMEOUT" "$PROG" measure "$3" "$2" 0 | grep '^compile') &&
        out=$(timeout "$TIMEOUT" "$PROG" measure "$3" "$2" "$REQUESTS") || {
        echo "routes_scale: measuring $1 failed or timed out" >&2
        exit 1
    }
    printf '== %s (%s bytes of JSON)\nfirst load: %s\n%s\n\n' "$1" "$(stat -c %s "$3")" \
        "${first#compile: }" "$out"
}

field() { # text pattern -> the number after it
    sed -n "s/.*$2 *\([0-9.]*\).*/\1/p" <<<"$1" | head -n1
}

times() { # text line-prefix -> "W ms wall (C ms CPU)"
    grep "^$2" <<<"$1" | sed -n 's/.*)) \([0-9.]*\) ms wall, \([0-9.]*\) ms CPU.*/\1 ms wall (\2 ms CPU)/p'
}

"$PROG" generate 10 "$T/small.json" compact
"$PROG" generate "$HOSTS" "$T/compact.json" compact
"$PROG" generate "$HOSTS" "$T/full.json" full
timeout "$TIMEOUT" sync "$T" 2>/dev/null || true # written back: no I/O in the timings

{
    echo "foyer.router scale, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, $HOSTS hosts x 3 prefixes"
    echo
    small=$(run "10 routes (baseline)" 10 "$T/small.json")
    compact=$(run "$HOSTS hosts x 3 prefixes, shorthand rules" "$HOSTS" "$T/compact.json")
    full=$(run "$HOSTS hosts x 3 prefixes, Gateway API spelling" "$HOSTS" "$T/full.json")
    printf '%s\n%s\n%s\n' "$small" "$compact" "$full"
    base_ns=$(field "$small" "random hosts,")
    for name in compact full; do
        text=${!name}
        ns=$(field "$text" "random hosts,")
        echo "$name: compile $(times "$text" "compile:") (first load of the file:" \
            "$(times "$text" "first load:"))," \
            "+$(field "$text" "memory: +") MiB RSS (peak +$(field "$text" "peak +") MiB)," \
            "$ns ns/request vs $base_ns ns with 10 routes"
    done
} | tee "$T/report.txt"

mkdir -p "$RESULTS"
cp "$T/report.txt" "$RESULTS/routes-scale-latest.txt"
