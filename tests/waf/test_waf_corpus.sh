#!/bin/sh
# Replays ../shared/corpus/waf/public.jsonl through the real foyer with
# waf.so (tests/waf/corpus_replay.py) and fails when detection or false
# positives fall past the figures reached (README: "WAF"). Skipped (77)
# when ../shared is absent, as in a user's clone.
corpus=${FOYER_SHARED:-../shared}/corpus/waf/public.jsonl
[ -r "$corpus" ] || { echo "corpus $corpus absent: skipped"; exit 77; }
command -v python3 >/dev/null || { echo "python3 absent: skipped"; exit 77; }
bindir=$(dirname "$FOYER_BIN")
exec python3 "$FOYER_SRCDIR/tests/waf/corpus_replay.py" --foyer "$FOYER_BIN" \
	--waf "$bindir/plugins/waf/.libs/waf.so" --backend "$FOYER_BACKEND" \
	--corpus "$corpus" --min-detect "${WAF_MIN_DETECT:-88}" --max-fp "${WAF_MAX_FP:-2}"
