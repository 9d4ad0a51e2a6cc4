#!/bin/bash
# CI for the Debian packages: installs the build dependencies, builds foyer
# and foyer-dev with dpkg-buildpackage in a copy of the tree, runs lintian
# (errors fail), installs the packages, runs the packaged foyer as the foyer
# user with the packaged configuration plus a test route in front of a
# python3 backend (request, reload, refused reload, stop), then purges the
# packages and checks that nothing is left behind.
#
# Runs as root on Debian 12. Every step is bounded in time; only processes
# this script started are stopped. Prints PASS/FAIL/SKIP lines; exits 1 at the
# first failure.
#   FOYER_PKG_NOCHECK=1  build without running make check (DEB_BUILD_OPTIONS=nocheck)
#   FOYER_PKG_KEEP=1     keep the work directory (packages, logs) at the end
set -uo pipefail
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive
cd "$(dirname "$0")/.."
SRC=$PWD
START=$(date +%s)
WORK=$(mktemp -d /tmp/foyer-package.XXXXXX)
chmod 0755 "$WORK"
FOYER_PID= BACKEND_PID=

say() { printf '%s\n' "$*"; }
pass() { say "PASS: $*"; }
skip() { say "SKIP: $*"; }
fail() {
	say "FAIL: $*"
	exit 1
}
elapsed() { echo "$(($(date +%s) - START)) s"; }

cleanup() {
	local rc=$?
	# only what this script started
	[ -n "$FOYER_PID" ] && kill -TERM "$FOYER_PID" 2>/dev/null && sleep 1 &&
		kill -KILL "$FOYER_PID" 2>/dev/null
	[ -n "$BACKEND_PID" ] && kill -TERM "$BACKEND_PID" 2>/dev/null
	if [ "${FOYER_PKG_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
		say "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	if [ $rc -eq 0 ]; then say "package.sh: all checks passed ($(elapsed))"; else
		say "package.sh: FAILED ($(elapsed))"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" = 0 ] || fail "run as root (installs packages)"

# ---- 1. build dependencies -------------------------------------------------
say "== build dependencies"
timeout 900 apt-get update -q >"$WORK/apt.log" 2>&1 || fail "apt-get update (see $WORK/apt.log)"
timeout 900 apt-get install -y -q --no-install-recommends \
	build-essential dpkg-dev debhelper lintian \
	pkg-config libev-dev libluajit-5.1-dev libssl-dev libhttp-parser-dev libcunit1-dev \
	curl openssl procps python3 util-linux logrotate git ca-certificates \
	>>"$WORK/apt.log" 2>&1 || fail "apt-get install build dependencies (see $WORK/apt.log)"
(cd "$SRC" && dpkg-checkbuilddeps) || fail "debian/control Build-Depends not satisfied by what CI installs"
pass "build dependencies installed ($(elapsed))"

# ---- 2. build --------------------------------------------------------------
say "== dpkg-buildpackage"
mkdir -p "$WORK/build/foyer"
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
	# tracked and new files, without build products (.gitignore)
	(cd "$SRC" && git ls-files -co --exclude-standard -z |
		tar --null -T - -cf - 2>/dev/null) | tar -xf - -C "$WORK/build/foyer" ||
		fail "copy of the source tree"
else
	cp -a "$SRC/." "$WORK/build/foyer/"
fi
BUILD_OPTS="parallel=$(nproc)"
[ "${FOYER_PKG_NOCHECK:-0}" = 1 ] && BUILD_OPTS="$BUILD_OPTS nocheck"
if ! (cd "$WORK/build/foyer" &&
	DEB_BUILD_OPTIONS="$BUILD_OPTS" timeout 1800 dpkg-buildpackage -us -uc -b) \
	>"$WORK/build.log" 2>&1; then
	tail -60 "$WORK/build.log"
	find "$WORK/build/foyer/tests" -name '*.log' -newer "$WORK/apt.log" -exec grep -l FAIL {} + 2>/dev/null |
		head -5 | xargs -r tail -40
	fail "dpkg-buildpackage (DEB_BUILD_OPTIONS=$BUILD_OPTS; log $WORK/build.log)"
fi
DEB=$(ls "$WORK"/build/foyer_*_*.deb) && DEV=$(ls "$WORK"/build/foyer-dev_*_*.deb) &&
	CHANGES=$(ls "$WORK"/build/foyer_*_*.changes) || fail "packages not found after the build"
pass "dpkg-buildpackage -b ($BUILD_OPTS): $(basename "$DEB") $(basename "$DEV") ($(elapsed))"

# ---- 3. lintian ------------------------------------------------------------
say "== lintian"
timeout 600 lintian --fail-on error --display-info --pedantic "$CHANGES" >"$WORK/lintian.log" 2>&1
LINTIAN_RC=$?
grep -v 'running with root privileges' "$WORK/lintian.log" | grep -E '^[EWIP]:' | sed 's/^/    /'
say "    lintian: $(grep -c '^E:' "$WORK/lintian.log") error(s), $(grep -c '^W:' "$WORK/lintian.log") warning(s)"
[ $LINTIAN_RC -eq 0 ] || fail "lintian reports errors"
pass "lintian: no errors"

# ---- 4. install ------------------------------------------------------------
say "== install"
timeout 600 apt-get install -y -q "$DEB" "$DEV" >"$WORK/install.log" 2>&1 ||
	{ tail -30 "$WORK/install.log"; fail "apt-get install ./foyer_*.deb ./foyer-dev_*.deb"; }
ver=$(/usr/sbin/foyer -v) || fail "/usr/sbin/foyer -v"
pass "installed: $ver"
getent passwd foyer >/dev/null || fail "no foyer system user"
[ "$(stat -c %U /var/log/foyer)" = foyer ] || fail "/var/log/foyer is not owned by foyer"
dpkg-query -W -f='${Conffiles}\n' foyer | grep -q '/etc/foyer/foyer.lua' ||
	fail "/etc/foyer/foyer.lua is not a conffile"
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
PLUGINDIR=/usr/lib/$MULTIARCH/foyer/plugins
for f in /usr/sbin/foyer "$PLUGINDIR/lb.so" "$PLUGINDIR/tls.so" /lib/systemd/system/foyer.service \
	/etc/logrotate.d/foyer /usr/share/man/man8/foyer.8.gz /usr/share/man/man5/foyer.lua.5.gz \
	/usr/share/man/man3/foyer-plugin.3.gz /usr/include/foyer/plugin.h \
	/usr/share/doc/foyer-dev/examples/hello/hello.c; do
	[ -e "$f" ] || fail "missing after install: $f"
done
[ "$(pkg-config --variable=plugindir foyer-plugin)" = "$PLUGINDIR" ] ||
	fail "foyer-plugin.pc plugindir is not $PLUGINDIR"
pass "user foyer, /var/log/foyer, conffile, plugins ($(ls "$PLUGINDIR" | tr '\n' ' ')), unit, man pages, foyer-dev files"
setpriv --reuid=foyer --regid=foyer --init-groups /usr/sbin/foyer -t -c /etc/foyer/foyer.lua >/dev/null ||
	fail "foyer -t on the packaged /etc/foyer/foyer.lua (as the foyer user)"
pass "foyer -t accepts the packaged configuration (as the foyer user)"

if command -v systemd-analyze >/dev/null; then
	man_opt=--man=no
	command -v man >/dev/null && man_opt=--man=yes
	if timeout 60 systemd-analyze verify $man_opt /lib/systemd/system/foyer.service >"$WORK/verify.log" 2>&1 &&
		! grep -q . "$WORK/verify.log"; then
		pass "systemd-analyze verify foyer.service ($man_opt)"
	else
		cat "$WORK/verify.log"
		fail "systemd-analyze verify foyer.service"
	fi
else
	skip "systemd-analyze not installed: unit not verified"
fi
if timeout 30 logrotate -d /etc/logrotate.d/foyer >"$WORK/logrotate.log" 2>&1 &&
	! grep -qiE '^error' "$WORK/logrotate.log"; then
	pass "logrotate -d /etc/logrotate.d/foyer"
else
	cat "$WORK/logrotate.log"
	fail "logrotate -d /etc/logrotate.d/foyer"
fi

# The example plugin of foyer-dev builds against the installed header.
cp -r /usr/share/doc/foyer-dev/examples/hello "$WORK/hello"
timeout 120 make -s -C "$WORK/hello" >"$WORK/hello.log" 2>&1 || { cat "$WORK/hello.log"; fail "make in the foyer-dev hello example"; }
pass "foyer-dev: the hello example builds with pkg-config foyer-plugin"

# ---- 5. run ----------------------------------------------------------------
say "== run"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
BPORT=$(free_port)
RUN=$WORK/run
mkdir -p "$RUN/www/backend"
echo "hello from the backend" >"$RUN/www/backend/hello.txt"
chown -R foyer:foyer "$RUN" "$WORK/hello"
(cd "$RUN/www" && exec timeout 600 python3 -m http.server --bind 127.0.0.1 "$BPORT") \
	>"$RUN/backend.log" 2>&1 &
BACKEND_PID=$!
for _ in $(seq 100); do
	curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$BPORT/backend/hello.txt" && break
	sleep 0.1
done
curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$BPORT/backend/hello.txt" || fail "the python3 backend did not start"

# The packaged configuration, on a free port, with its files in $RUN, the
# lb plugin (shared memory between the master and the workers), the hello
# plugin from foyer-dev, and a test route before the packaged one.
write_conf() { # $1: extra route lines
	sed -e "s|^listen \"127.0.0.1:8080\"|listen \"127.0.0.1:$PORT\"|" \
		-e "s|/var/log/foyer/access.log|$RUN/access.log|" \
		-e "s|/run/foyer/foyer.pid|$RUN/foyer.pid|" \
		-e "s|^route(function(req)|plugin \"lb\" { }\\
plugin \"hello\" { greeting = \"packaged\", path = \"$WORK/hello/hello.so\" }\\
service \"backend\" { endpoints = { \"127.0.0.1:$BPORT\" }, health_check = { path = \"/backend/hello.txt\", interval = 1 } }\\
route(function(req)\\
  if req.path:find(\"^/backend/\") then return \"backend\" end\\
$1|" /etc/foyer/foyer.lua >"$RUN/foyer.lua.new"
	chown foyer:foyer "$RUN/foyer.lua.new"
	mv "$RUN/foyer.lua.new" "$RUN/foyer.lua"
}
write_conf ""
grep -q "127.0.0.1:$PORT" "$RUN/foyer.lua" && grep -q '^plugin "lb"' "$RUN/foyer.lua" ||
	fail "could not derive the test configuration from /etc/foyer/foyer.lua"

# W^X as systemd's MemoryDenyWriteExecute= enforces it: the kernel's
# PR_SET_MDWE (Linux 6.3+) when available, inherited across exec.
cat >"$RUN/mdwe.py" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
ok = libc.prctl(65, 1, 0, 0, 0) == 0  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
open(sys.argv[1], "w").write("on\n" if ok else "off\n")
os.execv(sys.argv[2], sys.argv[2:])
EOF
# as the foyer user, as the systemd unit runs it
setpriv --reuid=foyer --regid=foyer --init-groups \
	/usr/bin/python3 "$RUN/mdwe.py" "$RUN/mdwe" /usr/sbin/foyer -c "$RUN/foyer.lua" -p "$RUN/foyer.pid" \
	>"$RUN/foyer.out" 2>"$RUN/foyer.err" &
FOYER_PID=$!

get() { curl -sS --max-time 5 "http://127.0.0.1:$PORT$1"; }
for _ in $(seq 100); do
	get / >/dev/null 2>&1 && break
	kill -0 "$FOYER_PID" 2>/dev/null || { cat "$RUN/foyer.err"; fail "foyer exited at start"; }
	sleep 0.1
done
[ "$(cat "$RUN/mdwe" 2>/dev/null)" = on ] && pass "foyer runs with W^X enforced (PR_SET_MDWE)" ||
	skip "kernel without PR_SET_MDWE: W^X not tested"
body=$(get /) || { cat "$RUN/foyer.err"; fail "GET / through foyer"; }
[[ "$body" == *"foyer is running"* ]] || fail "GET /: packaged answer expected, got: $body"
pass "GET / answers the packaged 'foyer is running' page"
body=$(get /backend/hello.txt) || fail "GET /backend/hello.txt"
[ "$body" = "hello from the backend" ] || fail "GET /backend/hello.txt: got: $body"
hdr=$(curl -sS --max-time 5 -o /dev/null -D - "http://127.0.0.1:$PORT/backend/hello.txt" | tr -d '\r')
grep -qi '^X-Hello: packaged' <<<"$hdr" || fail "X-Hello from the foyer-dev hello plugin missing: $hdr"
pass "GET /backend/hello.txt proxied to the backend, through the hello plugin"
[ "$(cat "$RUN/foyer.pid" 2>/dev/null)" = "$FOYER_PID" ] || fail "pid file $RUN/foyer.pid does not hold $FOYER_PID"
ls /dev/shm/foyer."$FOYER_PID".* >/dev/null 2>&1 || fail "no /dev/shm/foyer.$FOYER_PID.* segment (plugins' shared memory)"
pass "pid file written; plugins' shared memory in /dev/shm"

# reload: a new route appears, the old ones stay, the master stays
write_conf '  if req.path == "/reloaded" then return { respond = { status = 200, body = "reloaded" } } end'
kill -HUP "$FOYER_PID"
for _ in $(seq 50); do
	[ "$(get /reloaded 2>/dev/null)" = reloaded ] && break
	sleep 0.1
done
[ "$(get /reloaded)" = reloaded ] || { tail "$RUN/foyer.err"; fail "SIGHUP: the new route is not served"; }
[ "$(get /backend/hello.txt)" = "hello from the backend" ] || fail "after SIGHUP: /backend/ no longer proxied"
kill -0 "$FOYER_PID" || fail "the master died at reload"
pass "SIGHUP reload: new route served, old routes kept, same master"

# a refused reload keeps the running configuration
echo 'this is not lua' >>"$RUN/foyer.lua"
setpriv --reuid=foyer --regid=foyer --init-groups /usr/sbin/foyer -s reload -p "$RUN/foyer.pid" ||
	fail "foyer -s reload -p"
sleep 1
grep -q 'reload refused' "$RUN/foyer.err" || fail "an invalid configuration was not refused at reload"
[ "$(get /reloaded)" = reloaded ] || fail "after a refused reload the running configuration is gone"
pass "foyer -s reload with an invalid file: refused, running configuration kept"

# stop
kill -TERM "$FOYER_PID"
rc=
for _ in $(seq 450); do
	if ! kill -0 "$FOYER_PID" 2>/dev/null; then
		wait "$FOYER_PID"
		rc=$?
		break
	fi
	sleep 0.1
done
[ -n "$rc" ] || fail "foyer still running 45 s after SIGTERM"
[ "$rc" = 0 ] || { tail "$RUN/foyer.err"; fail "foyer exited with $rc after SIGTERM"; }
stopped=$FOYER_PID
FOYER_PID=
[ ! -e "$RUN/foyer.pid" ] || fail "pid file left after stop"
! ls /dev/shm/foyer."$stopped".* >/dev/null 2>&1 || fail "shared memory left in /dev/shm after stop"
pass "SIGTERM: exit 0, pid file and shared memory removed"
# the access log is buffered: complete once foyer has stopped
grep -q '"GET /backend/hello.txt HTTP/1.1" 200' "$RUN/access.log" ||
	fail "access log $RUN/access.log has no line for the proxied request"
[ "$(stat -c %U "$RUN/access.log")" = foyer ] || fail "access log not written by the foyer user"
pass "access log written by the foyer user"
kill -TERM "$BACKEND_PID" 2>/dev/null
wait "$BACKEND_PID" 2>/dev/null
BACKEND_PID=

# ---- 6. purge --------------------------------------------------------------
say "== purge"
timeout 600 apt-get purge -y -q foyer foyer-dev >"$WORK/purge.log" 2>&1 ||
	{ tail -20 "$WORK/purge.log"; fail "apt-get purge -y foyer foyer-dev"; }
for p in foyer foyer-dev; do
	! dpkg -L "$p" >/dev/null 2>&1 || fail "dpkg still knows $p's files"
done
for f in /usr/sbin/foyer /etc/foyer /etc/logrotate.d/foyer /lib/systemd/system/foyer.service \
	/var/log/foyer "/usr/lib/$MULTIARCH/foyer" /usr/include/foyer \
	"/usr/lib/$MULTIARCH/pkgconfig/foyer-plugin.pc" /usr/share/doc/foyer /usr/share/doc/foyer-dev \
	/usr/share/man/man8/foyer.8.gz /usr/share/man/man5/foyer.lua.5.gz \
	/usr/share/man/man3/foyer-plugin.3.gz; do
	[ ! -e "$f" ] || fail "left after purge: $f"
done
pass "purge: no files left (the foyer user stays, as Debian policy allows)"
