#!/bin/bash
# CI: a short fuzzing run of every target (tests/fuzz/run.sh), failing on a
# crash, a leak, a timeout or a regression input that fails again. Installs
# nothing: without clang and its libFuzzer runtime it prints SKIP and exits 0.
#   FOYER_FUZZ_CI_SECONDS   seconds per target (default 20)
set -u
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC_FUZZ:-clang}
if ! command -v "$cc" >/dev/null; then
    echo "SKIP: fuzzing needs clang (apt-get install clang)"
    exit 0
fi
probe=$(mktemp -d /tmp/foyer-fuzz-probe.XXXXXX)
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
    >"$probe/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/probe.c" -o "$probe/probe" \
    >"$probe/log" 2>&1 || ! "$probe/probe" -runs=1 >>"$probe/log" 2>&1; then
    echo "SKIP: $cc cannot link libFuzzer (apt-get install clang libclang-rt-dev)"
    sed 's/^/  /' "$probe/log" | head -5
    rm -rf "$probe"
    exit 0
fi
rm -rf "$probe"
exec "$here/run.sh" "${FOYER_FUZZ_CI_SECONDS:-20}"
