#!/bin/sh
# tests/valgrind.sh: valgrind memcheck of foyer under the end-to-end tests.
#
#   tests/valgrind.sh                     the default programs (below)
#   tests/valgrind.sh tests/e2e/test_proxy 'tests/e2e/test_reload:reload_on_sighup'
#
# Each argument is a test program, optionally followed by ":case,case" (only
# those cases run: the harness's E2E_ONLY). The program runs as `make check`
# would run it, except that FOYER_BIN is a wrapper that execs foyer under
#
#   valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
#            --trace-children=yes --track-fds=no --log-file=DIR/vg.%p.log
#
# (one log per process: the master and every worker), and FOYER_TEST_SLOW
# (default 4) stretches the harness's waits for foyer (tests/e2e/harness.c).
# The wrapper sits in a directory whose plugins/ and tests/ link to the build
# tree, so the tests find tls.so, lb.so, waf.so and the test plugins beside
# $FOYER_BIN as usual.
#
# Then every log is scanned: any invalid read or write, invalid free, use of
# uninitialised values (conditional jumps, syscall parameters) or definitely
# lost block is printed with its stack, and the script exits 1. Test failures
# are reported but do not fail the script (timing assertions can fail under
# valgrind's slowness) unless STRICT=1.
#
# Environment: BUILDDIR (the build tree, default: this checkout), VALGRIND
# (valgrind), FOYER_TEST_SLOW (4), VALGRIND_SUPP (a suppressions file),
# KEEP_LOGS=1 (keep the log directory), STRICT=1.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(cd "${BUILDDIR:-$src}" && pwd)
valgrind=${VALGRIND:-valgrind}

command -v "$valgrind" >/dev/null 2>&1 || {
	echo "valgrind.sh: $valgrind not found (apt-get install valgrind)" >&2
	exit 77
}
[ -x "$build/foyer" ] || {
	echo "valgrind.sh: $build/foyer not built (make)" >&2
	exit 2
}

if [ $# -eq 0 ]; then
	set -- \
		tests/e2e/test_proxy \
		tests/e2e/test_bodies \
		tests/e2e/test_smuggling \
		tests/e2e/test_reload:reload_on_sighup,reload_command_with_pidfile,reload_invalid_config_is_refused,reload_opens_and_closes_listeners,reload_keeps_in_flight_and_idle_connections \
		tests/plugins/test_tls_e2e \
		tests/waf/test_waf_e2e \
		tests/e2e/test_etcd:changes_in_place_without_reload,balanced_service_change_reloads,silent_watch_found_by_keepalive
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/foyer-valgrind.XXXXXX")
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [ "${KEEP_LOGS:-0}" = 1 ]; then
		echo "valgrind.sh: logs kept in $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The wrapper and the links that let the tests find the plugins beside it.
mkdir -p "$work/bin"
ln -s "$build/plugins" "$work/bin/plugins"
ln -s "$build/tests" "$work/bin/tests"
supp=
[ -z "${VALGRIND_SUPP:-}" ] || supp="--suppressions=$VALGRIND_SUPP"
cat >"$work/bin/foyer" <<EOF
#!/bin/sh
# foyer under valgrind memcheck (made by tests/valgrind.sh); logs: \$VG_LOGDIR
exec $valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
	--trace-children=yes --track-fds=no $supp --log-file="\${VG_LOGDIR:-$work}/vg.%p.log" \\
	"$build/foyer" "\$@"
EOF
chmod +x "$work/bin/foyer"

# Prints every error block of a valgrind log: from the error's first line to
# the blank line that ends its stack.
errors_of() {
	awk '
		/==[0-9]+== (Invalid (read|write|free)|Mismatched free|Conditional jump or move depends on uninitialised|Use of uninitialised value|Syscall param .* uninitialised|Source and destination overlap)/ { on = 1 }
		/==[0-9]+== .* definitely lost in loss record/ { on = 1 }
		on { print }
		on && /^==[0-9]+== *$/ { on = 0 }
	' "$1"
}

status=0
failed_tests=
for arg in "$@"; do
	prog=${arg%%:*}
	only=
	[ "$prog" = "$arg" ] || only=${arg#*:}
	name=$(echo "$arg" | tr '/:,' '___')
	logs="$work/$name"
	mkdir -p "$logs"
	[ -x "$build/$prog" ] || {
		echo "valgrind.sh: $build/$prog not built (make check TESTS=)" >&2
		status=1
		continue
	}
	echo "== $arg"
	t0=$(date +%s)
	rc=0
	(
		cd "$build"
		FOYER_BIN="$work/bin/foyer" \
			FOYER_BACKEND="$build/tests/helpers/foyer-test-backend" \
			FOYER_SRCDIR="$src" FOYER_SHARED="$src/../shared" \
			FOYER_TEST_SLOW="${FOYER_TEST_SLOW:-4}" VG_LOGDIR="$logs" E2E_ONLY="$only" \
			"$build/$prog" >"$logs/test.out" 2>&1
	) || rc=$?
	nlogs=$(find "$logs" -name 'vg.*.log' | wc -l)
	nerr=0 nkilled=0
	for log in "$logs"/vg.*.log; do
		[ -e "$log" ] || continue
		# No summary: the process was killed (SIGKILL) before valgrind could report.
		grep -q 'ERROR SUMMARY' "$log" || nkilled=$((nkilled + 1))
		found=$(errors_of "$log")
		[ -n "$found" ] || continue
		nerr=$((nerr + 1))
		echo "-- $(basename "$log"): $(sed -n 's/^==[0-9]*== Command: //p' "$log" | head -n 1)"
		echo "$found"
	done
	echo "   test exit $rc, $(($(date +%s) - t0)) s, $nlogs foyer processes, $nerr with errors," \
		"$nkilled killed before their report"
	if [ "$rc" -ne 0 ]; then
		failed_tests="$failed_tests $arg"
		grep -E 'FAILED|Test: .*FAILED|timed out' "$logs/test.out" | head -n 20 | sed 's/^/   /'
	fi
	[ "$nerr" -eq 0 ] || status=1
done

[ -z "$failed_tests" ] || echo "tests that failed under valgrind:$failed_tests"
if [ "$status" -ne 0 ]; then
	echo "valgrind.sh: memory errors found (above)"
elif [ -n "$failed_tests" ] && [ "${STRICT:-0}" = 1 ]; then
	status=1
else
	echo "valgrind.sh: no memory errors"
fi
exit "$status"
