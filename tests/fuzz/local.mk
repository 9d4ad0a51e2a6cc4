# tests/fuzz: libFuzzer targets (clang -fsanitize=fuzzer,address,undefined).
# Not part of `make all` or `make check` (the normal build uses gcc):
#   make fuzz                   builds them into tests/fuzz/build/
#   tests/fuzz/run.sh SECONDS   builds if needed, replays the regressions,
#                               fuzzes each target for SECONDS
#   tests/fuzz/ci.sh            the short CI run (skips without clang)
# tests/fuzz/fuzz.mk (plain GNU make) compiles the core, Lua and WAF sources
# again with clang; see there for the list.
FUZZ_MAKE = $(MAKE) -f $(abs_top_srcdir)/tests/fuzz/fuzz.mk \
	srcdir='$(abs_top_srcdir)' out='$(abs_top_builddir)/tests/fuzz/build' \
	LUAJIT_CFLAGS='$(LUAJIT_CFLAGS)' LUAJIT_LIBS='$(LUAJIT_LIBS)' \
	OPENSSL_CFLAGS='$(OPENSSL_CFLAGS)' OPENSSL_LIBS='$(OPENSSL_LIBS)' \
	EV_LIBS='$(EV_LIBS)' HTTP_PARSER_LIBS='$(HTTP_PARSER_LIBS)'

fuzz:
	@command -v $${CC_FUZZ:-clang} >/dev/null || \
		{ echo "make fuzz: clang not found (apt-get install clang)" >&2; exit 1; }
	$(FUZZ_MAKE) FUZZ_CC=$${CC_FUZZ:-clang}

fuzz-clean:
	-$(FUZZ_MAKE) clean
	-rm -rf '$(abs_top_builddir)/tests/fuzz/build'

.PHONY: fuzz fuzz-clean

EXTRA_DIST += tests/fuzz/README.md tests/fuzz/fuzz.mk tests/fuzz/fuzz_util.h \
	tests/fuzz/fuzz_request_head.c tests/fuzz/fuzz_chunked.c \
	tests/fuzz/fuzz_response_head.c tests/fuzz/fuzz_config.c \
	tests/fuzz/fuzz_router.c tests/fuzz/fuzz_waf.c \
	tests/fuzz/run.sh tests/fuzz/ci.sh \
	tests/fuzz/dict/http.dict tests/fuzz/dict/json.dict tests/fuzz/dict/lua.dict

# Seeds and regression inputs, file by file (a new regression input is added here too):
EXTRA_DIST += tests/fuzz/seeds/chunked/after-end tests/fuzz/seeds/chunked/bare-lf \
	tests/fuzz/seeds/chunked/ext tests/fuzz/seeds/chunked/hex-prefix \
	tests/fuzz/seeds/chunked/leading-zeros tests/fuzz/seeds/chunked/negative \
	tests/fuzz/seeds/chunked/no-crlf-after-data tests/fuzz/seeds/chunked/overflow \
	tests/fuzz/seeds/chunked/simple tests/fuzz/seeds/chunked/trailers \
	tests/fuzz/seeds/chunked/two tests/fuzz/seeds/chunked/upper \
	tests/fuzz/seeds/chunked/ws-ext tests/fuzz/seeds/config/errors.lua \
	tests/fuzz/seeds/config/loop.lua tests/fuzz/seeds/config/minimal.lua \
	tests/fuzz/seeds/config/plugin.lua tests/fuzz/seeds/config/router.lua \
	tests/fuzz/seeds/config/settings.lua tests/fuzz/seeds/request_head/absolute \
	tests/fuzz/seeds/request_head/absolute-noslash tests/fuzz/seeds/request_head/bare-lf \
	tests/fuzz/seeds/request_head/cl-cl-differ tests/fuzz/seeds/request_head/cl-cl-same \
	tests/fuzz/seeds/request_head/cl-list tests/fuzz/seeds/request_head/cl-plus \
	tests/fuzz/seeds/request_head/cl-te tests/fuzz/seeds/request_head/conn-named \
	tests/fuzz/seeds/request_head/connect tests/fuzz/seeds/request_head/custom-method \
	tests/fuzz/seeds/request_head/expect tests/fuzz/seeds/request_head/expect-bad \
	tests/fuzz/seeds/request_head/get tests/fuzz/seeds/request_head/get-query \
	tests/fuzz/seeds/request_head/h2c tests/fuzz/seeds/request_head/host-port \
	tests/fuzz/seeds/request_head/host-userinfo tests/fuzz/seeds/request_head/http10-ka \
	tests/fuzz/seeds/request_head/http2-version \
	tests/fuzz/seeds/request_head/leading-crlf tests/fuzz/seeds/request_head/no-host \
	tests/fuzz/seeds/request_head/obs-fold tests/fuzz/seeds/request_head/obs-text \
	tests/fuzz/seeds/request_head/options-star tests/fuzz/seeds/request_head/post-cl \
	tests/fuzz/seeds/request_head/post-te tests/fuzz/seeds/request_head/short-method \
	tests/fuzz/seeds/request_head/te-10 tests/fuzz/seeds/request_head/te-chunked-identity \
	tests/fuzz/seeds/request_head/te-gzip-chunked \
	tests/fuzz/seeds/request_head/te-space-colon tests/fuzz/seeds/request_head/te-te \
	tests/fuzz/seeds/request_head/te-xchunked tests/fuzz/seeds/request_head/tight-limits \
	tests/fuzz/seeds/request_head/two-hosts tests/fuzz/seeds/request_head/upgrade \
	tests/fuzz/seeds/request_head/ws-value tests/fuzz/seeds/response_head/100-then-200 \
	tests/fuzz/seeds/response_head/101 tests/fuzz/seeds/response_head/200-chunked \
	tests/fuzz/seeds/response_head/200-cl tests/fuzz/seeds/response_head/204-cl \
	tests/fuzz/seeds/response_head/304 tests/fuzz/seeds/response_head/bare-lf \
	tests/fuzz/seeds/response_head/cl-te tests/fuzz/seeds/response_head/close-delimited \
	tests/fuzz/seeds/response_head/empty-reason \
	tests/fuzz/seeds/response_head/head-request tests/fuzz/seeds/response_head/hop \
	tests/fuzz/seeds/response_head/http2 tests/fuzz/seeds/response_head/keep-alive-10 \
	tests/fuzz/seeds/response_head/no-reason tests/fuzz/seeds/response_head/status-999 \
	tests/fuzz/seeds/response_head/te-gzip tests/fuzz/seeds/response_head/two-cl \
	tests/fuzz/seeds/router/gateway tests/fuzz/seeds/router/ingress \
	tests/fuzz/seeds/router/list tests/fuzz/seeds/router/unicode \
	tests/fuzz/seeds/waf/detect-code tests/fuzz/seeds/waf/detect-crlf \
	tests/fuzz/seeds/waf/detect-ldap tests/fuzz/seeds/waf/detect-lfi \
	tests/fuzz/seeds/waf/detect-misc tests/fuzz/seeds/waf/detect-nosql \
	tests/fuzz/seeds/waf/detect-rce tests/fuzz/seeds/waf/detect-rfi \
	tests/fuzz/seeds/waf/detect-sqli tests/fuzz/seeds/waf/detect-ssti \
	tests/fuzz/seeds/waf/detect-xss tests/fuzz/seeds/waf/double-encoding \
	tests/fuzz/seeds/waf/get-benign tests/fuzz/seeds/waf/get-sqli \
	tests/fuzz/seeds/waf/long-arg tests/fuzz/seeds/waf/post-form \
	tests/fuzz/seeds/waf/post-json tests/fuzz/seeds/waf/post-multipart \
	tests/fuzz/seeds/waf/post-xml tests/fuzz/seeds/waf/trace-admin \
	tests/fuzz/regressions/router/empty-object-first \
	tests/fuzz/regressions/router/matched-rule-without-backends \
	tests/fuzz/regressions/router/method-only-match \
	tests/fuzz/regressions/router/rule-without-backends \
	tests/fuzz/regressions/waf/lfi-0x-not-hex-shift
