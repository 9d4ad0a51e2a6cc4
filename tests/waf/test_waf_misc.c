/*
 * tests/waf/test_waf_misc.c — CRLF, SSI/XXE/mail/session detectors, protocol
 * and scanner checks (misc.c).
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "misc.h"

static int crlf(const char *s, enum waf_place p)
{
    struct waf_hit h;
    return waf_detect_crlf(s, strlen(s), p, &h);
}

static unsigned misc_rule(const char *s)
{
    struct waf_hit h;
    return waf_detect_misc(s, strlen(s), WAF_PLACE_ARG, &h) ? h.rule : 0;
}

static enum waf_class misc_class(const char *s)
{
    struct waf_hit h;
    return waf_detect_misc(s, strlen(s), WAF_PLACE_ARG, &h) ? h.cls : WAF_CLASS_COUNT;
}

static void test_crlf_attacks(void)
{
    CU_ASSERT(crlf("foo\r\nSet-Cookie: a=b", WAF_PLACE_ARG));
    CU_ASSERT(crlf("x\r\nLocation: http://evil.test/", WAF_PLACE_ARG));
    CU_ASSERT(crlf("x%0d%0aRefresh: 0", WAF_PLACE_ARG)); /* double-encoded leftover */
    CU_ASSERT(crlf("x\nX-Forwarded-For: 1.2.3.4", WAF_PLACE_ARG));
    CU_ASSERT(crlf("/d/\xe5\x98\x8dSet-cookie:a=b", WAF_PLACE_PATH)); /* U+560D */
    CU_ASSERT(crlf("x\r\n\r\nHTTP/1.1 200 OK", WAF_PLACE_ARG));       /* status line */
    CU_ASSERT(
        crlf("GET http://www.foo.bar HTTP/3.2", WAF_PLACE_ARG)); /* smuggled request */
    CU_ASSERT(crlf("a\r\nPOST /admin HTTP/1.1", WAF_PLACE_ARG));
    CU_ASSERT(crlf("/p\r\nAnything: x", WAF_PLACE_PATH)); /* any header in a path */
    CU_ASSERT(crlf("na\nme", WAF_PLACE_ARG_NAME));        /* break inside a name */
}

static void test_crlf_benign(void)
{
    /* text areas have line breaks, and prose has "Word:" at a line start */
    CU_ASSERT(!crlf("Dear team,\r\nNote: the meeting moved.\r\nThanks", WAF_PLACE_ARG));
    CU_ASSERT(!crlf("Agenda:\n1. budget\n2. hiring", WAF_PLACE_ARG));
    CU_ASSERT(!crlf("Update\r\nStatus: on track\r\nLink: see wiki\r\nX-Men: great",
                    WAF_PLACE_ARG));
    CU_ASSERT(!crlf("soundtrack Gympl\r\nanything", WAF_PLACE_ARG));
    CU_ASSERT(!crlf("id\n", WAF_PLACE_ARG_NAME)); /* trailing newline of a saved body */
    CU_ASSERT(!crlf("Use GET to read and POST to write", WAF_PLACE_ARG));
    CU_ASSERT(!crlf("100% sure, 50%off", WAF_PLACE_ARG));
    CU_ASSERT(
        !crlf("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e text", WAF_PLACE_ARG)); /* CJK */
    CU_ASSERT(!crlf("", WAF_PLACE_ARG));
}

static void test_ssi_xxe(void)
{
    CU_ASSERT_EQUAL(misc_rule("<!--#exec cmd=\"ls\" -->"), 960100);
    CU_ASSERT_EQUAL(misc_rule("<!--#include virtual=\"/etc/passwd\"-->"), 960100);
    CU_ASSERT_EQUAL(
        misc_rule("<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"), 960110);
    CU_ASSERT_EQUAL(misc_rule("<!DOCTYPE x [ <!ENTITY % y SYSTEM \"//y/y\" > %y; ]>"),
                    960110);
    CU_ASSERT_EQUAL(misc_rule("<!DOCTYPE foo SYSTEM \"http://evil.test/x.dtd\"><foo/>"),
                    960111);
    CU_ASSERT_EQUAL(
        misc_rule("<xs:schema><xs:include namespace=\"http://x\"/></xs:schema>"), 960112);
    CU_ASSERT_EQUAL(
        misc_rule("<a xmlns:xi=\"http://www.w3.org/2001/XInclude\"><xi:include "
                  "href=\"x\"/></a>"),
        960112);
    /* near misses */
    CU_ASSERT_EQUAL(misc_rule("<!-- just a comment -->"), 0);
    CU_ASSERT_EQUAL(misc_rule("<!DOCTYPE html><html><body>hi</body></html>"), 0);
    CU_ASSERT_EQUAL(misc_rule("<?xml version=\"1.0\"?><order><id>5</id></order>"), 0);
    CU_ASSERT_EQUAL(misc_rule("<xs:element name=\"included\"/>"), 0);
    CU_ASSERT_EQUAL(misc_rule("The #include directive in C"), 0);
}

static void test_mail(void)
{
    CU_ASSERT_EQUAL(misc_class("\nRCPT TO: test@evil.com\n"), WAF_MAIL);
    CU_ASSERT_EQUAL(misc_class("x\r\nMAIL FROM:<a@b.c>"), WAF_MAIL);
    CU_ASSERT_EQUAL(misc_class("INBOX\r\nA002 LOGIN admin pass"), WAF_MAIL);
    CU_ASSERT_EQUAL(misc_class("hi\nBcc: victim@example.com"), WAF_MAIL);
    CU_ASSERT_EQUAL(misc_class("x%0aRCPT TO:a@b"), WAF_MAIL);
    CU_ASSERT_EQUAL(misc_class("x\r\nHELP Postmaster"), WAF_MAIL);
    CU_ASSERT_EQUAL(misc_class("\r\na001 uid store 231:233\r\n"), WAF_MAIL);
    CU_ASSERT_EQUAL(misc_class("hi\nHelp me choose a size\nthanks"), WAF_CLASS_COUNT);
    CU_ASSERT_EQUAL(misc_class("step\nB12 list of parts"), WAF_MAIL); /* tag + command */
    CU_ASSERT_EQUAL(misc_class("Notes\nI select the blue one"), WAF_CLASS_COUNT);
    /* near misses: prose with line breaks and addresses */
    CU_ASSERT_EQUAL(misc_class("Please mail from: the office\nthanks"), WAF_CLASS_COUNT);
    CU_ASSERT_EQUAL(misc_class("Drop us a line at help@example.com"), WAF_CLASS_COUNT);
    CU_ASSERT_EQUAL(misc_class("line one\n1 list of items\nData follows"),
                    WAF_CLASS_COUNT);
    CU_ASSERT_EQUAL(misc_class("To: the whole team\nFrom: Ann"), WAF_CLASS_COUNT);
}

static void test_session(void)
{
    CU_ASSERT_EQUAL(
        misc_rule(
            "<script>document.cookie=\"sessionid=1234; domain=.example.dom\";</script>"),
        943100);
    CU_ASSERT_EQUAL(misc_rule(".cookie;expires="), 943100);
    CU_ASSERT_EQUAL(misc_rule("<meta http-equiv=\"Set-Cookie\" content=\"sid=1\">"),
                    943100);
    CU_ASSERT_EQUAL(misc_rule("I like cookies; expires soon"), 0);
    CU_ASSERT_EQUAL(misc_rule("read document.cookie docs"), 0);
    /* ".cookie" needs a ';' after it, "http-equiv" brings its own '-' */
    CU_ASSERT_EQUAL(misc_rule("x http-equiv = set-cookie"), 943100);
    CU_ASSERT_EQUAL(misc_rule("a.cookie ; path = /"), 943100);
    CU_ASSERT_EQUAL(misc_rule("a.cookie - path=/"), 0);
    CU_ASSERT_EQUAL(misc_rule("http-equiv refresh; url=/"), 0);
    CU_ASSERT(waf_is_session_param("jsessionid", 10));
    CU_ASSERT(waf_is_session_param("PHPSESSID", 9));
    CU_ASSERT(waf_is_session_param("koa:sess", 8));
    CU_ASSERT(waf_is_session_param("ASPSESSIONIDQQGGGNCU", 20));
    CU_ASSERT(!waf_is_session_param("session", 7));
    CU_ASSERT(!waf_is_session_param("id", 2));
    CU_ASSERT(!waf_is_session_param("jsessionidx", 11));
    /* every first letter and length of the table; near misses of both */
    static const char *const names[] = {"asp.net_sessionid",
                                        "weblogicsession",
                                        "session_id",
                                        "session-id",
                                        "CFID",
                                        "cftoken",
                                        "cfsid",
                                        "jservsession",
                                        "jwsession",
                                        "koa.sess.sig",
                                        "connect.sid",
                                        "laravel_session",
                                        "ci_session",
                                        "_session_id",
                                        "rack.session",
                                        "sails.sid",
                                        "Express.sid",
                                        "django_session",
                                        "aspsessionid",
                                        "phpsession"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CU_ASSERT(waf_is_session_param(names[i], strlen(names[i])));
    CU_ASSERT(!waf_is_session_param("customer", 8));
    CU_ASSERT(!waf_is_session_param("cfidx", 5));
    CU_ASSERT(!waf_is_session_param("django_sessions", 15));
}

static void test_oast(void)
{
    CU_ASSERT_EQUAL(misc_class("http://abc123.oastify.com/x"), WAF_SCANNER);
    CU_ASSERT_EQUAL(misc_class("nslookup x.burpcollaborator.net"), WAF_SCANNER);
    CU_ASSERT_EQUAL(misc_class("see https://oast.example.com/"), WAF_CLASS_COUNT);
}

static int header(const char *n, const char *v, unsigned *rule)
{
    struct waf_hit h;
    int r = waf_check_header(n, strlen(n), v, strlen(v), &h);
    if (r && rule) *rule = h.rule;
    return r;
}

static void test_headers(void)
{
    unsigned rule = 0;
    CU_ASSERT(!header("Range", "bytes=0-1023", NULL));
    CU_ASSERT(!header("Range", "bytes=0-99, 200-299, -500", NULL));
    CU_ASSERT(header("Range", "bytes=10-11, 20-21, 30-31, 40-41, 50-51, 60-61", &rule) &&
              rule == 920200);
    CU_ASSERT(header("Range", "bytes=-10,-, 21-30", &rule) && rule == 920190);
    CU_ASSERT(header("Range", "bytes=50-10", &rule) && rule == 920190);
    CU_ASSERT(header("Range", "pages=1-2", NULL));
    CU_ASSERT(header("Request-Range", "bytes=0-1023", &rule) && rule == 920210);

    CU_ASSERT(!header("Content-Type", "application/json", NULL));
    CU_ASSERT(!header("Content-Type", "text/plain; charset=\"UTF-8\"", NULL));
    CU_ASSERT(!header("Content-Type",
                      "multipart/form-data; boundary=----WebKitFormBoundaryX", NULL));
    CU_ASSERT(!header("Content-Type",
                      "application/x-www-form-urlencoded; charset=us-ascii", NULL));
    CU_ASSERT(
        !header("Content-Type", "multipart/form-data; boundary=----=_Part_0_1.2", NULL));
    CU_ASSERT(!header("Content-Type",
                      "application/soap+xml; charset=utf-8; action=\"urn:x\"", NULL));
    CU_ASSERT(!header("Content-Type", "text/plain; charset = utf-8", NULL));
    CU_ASSERT(header("Content-Type", "text/plain; charset=\"UTF-8\"; garbage", &rule) &&
              rule == 920470);
    CU_ASSERT(header("Content-Type", "%{(#nike='multipart/form-data')", &rule) &&
              rule == 920470);
    CU_ASSERT(header("Content-Type", "text/html; charset=utf-7", &rule) &&
              rule == 920480);
    CU_ASSERT(header("Content-Type",
                     "application/x-www-form-urlencoded;boundary=\"text/html\"", &rule) &&
              rule == 921422);

    CU_ASSERT(!header("Sec-Fetch-User", "?1", NULL));
    CU_ASSERT(header("Sec-Fetch-User", "foo", NULL));
    CU_ASSERT(header("Accept-Charset", "utf-8", NULL));
    CU_ASSERT(header("X-Scanner", "Netsparker", &rule) && rule == 913110);
    CU_ASSERT(!header("Accept", "text/html,*/*;q=0.8", NULL));
}

static int ua(const char *v)
{
    struct waf_hit h;
    return waf_check_scanner_ua(v, strlen(v), &h);
}

static void test_scanners(void)
{
    CU_ASSERT(ua("nessus"));
    /* one per first letter of the sorted table (its index must be right) */
    static const char *const some[] = {"Absinthe",
                                       "BlackWidow",
                                       "commix/2",
                                       "dirbuster",
                                       "feroxbuster/2.10",
                                       "gobuster/3",
                                       "havij",
                                       "jaeles",
                                       "l9explore/1.2",
                                       "masscan/1.3",
                                       "Nuclei - Open-source project",
                                       "OpenVAS",
                                       "pangolin",
                                       "qualys",
                                       "skipfish",
                                       "teh forest lobster",
                                       "vega/1",
                                       "w3af.org",
                                       "xsstrike",
                                       "zgrab/0.x",
                                       "zmeu"};
    for (size_t i = 0; i < sizeof some / sizeof some[0]; i++)
        CU_ASSERT(ua(some[i]));
    CU_ASSERT(ua("Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:Port Check)"));
    CU_ASSERT(ua("sqlmap/1.7.2#stable (https://sqlmap.org)"));
    CU_ASSERT(ua("Mozilla/5.0 (compatible; Nmap Scripting Engine; "
                 "https://nmap.org/book/nse.html)"));
    CU_ASSERT(ua("Fuzz Faster U Fool v2.1.0"));
    CU_ASSERT(ua("WPScan v3.8.22 (https://wpscan.com/wordpress-security-scanner)"));
    CU_ASSERT(!ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
                  "like Gecko) Chrome/120.0.0.0 Safari/537.36"));
    /* token starts are found 16 bytes a step: a tool after a separator at
     * every offset around the steps and the tail, with its first position;
     * the same bytes glued to a word are no token */
    for (size_t pad = 0; pad < 40; pad++) {
        char v[96];
        memset(v, 'x', pad);
        static const char *const seps = " (;,+\t";
        v[pad] = seps[pad % 6];
        memcpy(v + pad + 1, "sqlmap/1", 9);
        struct waf_hit h;
        CU_ASSERT(waf_check_scanner_ua(v, strlen(v), &h) && h.at == pad + 1);
        v[pad] = '-';
        CU_ASSERT(!waf_check_scanner_ua(v, strlen(v), &h));
    }
    CU_ASSERT(
        !ua("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"));
    CU_ASSERT(!ua("curl/8.4.0"));
    CU_ASSERT(!ua("python-requests/2.31.0"));
    CU_ASSERT(
        !ua("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"));
    CU_ASSERT(!ua(""));
    /* second bytes that are no letter, first bytes in upper case */
    CU_ASSERT(ua("x (SF/1.0)"));
    CU_ASSERT(ua("W3AF"));
    CU_ASSERT(!ua("sfx/2 w3c-checker"));
}

static int method(const char *m)
{
    struct waf_hit h;
    return waf_check_method(m, strlen(m), &h);
}

static void test_method(void)
{
    CU_ASSERT(!method("GET"));
    CU_ASSERT(!method("PROPFIND"));
    CU_ASSERT(!method("VERSION-CONTROL"));
    CU_ASSERT(method("|GET"));
    CU_ASSERT(method("GET;"));
    CU_ASSERT(method(""));
    CU_ASSERT(method("-X"));
}

static unsigned bytes(const char *s, size_t n, enum waf_place p)
{
    struct waf_hit h;
    return waf_check_bytes(s, n, p, &h) ? h.rule : 0;
}

static void test_bytes(void)
{
    CU_ASSERT_EQUAL(bytes("a\0b", 3, WAF_PLACE_ARG), WAF_RULE_NUL);
    CU_ASSERT_EQUAL(bytes("test1\x03", 6, WAF_PLACE_ARG), WAF_RULE_CTL);
    CU_ASSERT_EQUAL(bytes("test1\x80", 6, WAF_PLACE_ARG), WAF_RULE_C1); /* lone C1 byte */
    CU_ASSERT_EQUAL(bytes("\xc0\xaf", 2, WAF_PLACE_ARG), WAF_RULE_OVERLONG_UTF8);
    CU_ASSERT_EQUAL(bytes("\xc0", 1, WAF_PLACE_ARG), WAF_RULE_OVERLONG_UTF8);
    CU_ASSERT_EQUAL(bytes("\xe0\x80\xaf", 3, WAF_PLACE_ARG), WAF_RULE_OVERLONG_UTF8);
    CU_ASSERT_EQUAL(bytes("\xf0\x80\x80\xae", 4, WAF_PLACE_ARG), WAF_RULE_OVERLONG_UTF8);
    CU_ASSERT_EQUAL(bytes("\xf8\x80\x80\x80\xae", 5, WAF_PLACE_ARG),
                    WAF_RULE_OVERLONG_UTF8);
    CU_ASSERT_EQUAL(bytes("/index.php/PHP\ninfo.php", 23, WAF_PLACE_PATH),
                    WAF_RULE_PATH_CTL);
    /* U+FF0E U+FF0E U+FF0F: full-width "../" */
    CU_ASSERT_EQUAL(bytes("\xef\xbc\x8e\xef\xbc\x8e\xef\xbc\x8f"
                          "etc",
                          12, WAF_PLACE_ARG),
                    WAF_RULE_UNICODE_TRAVERSAL);
    CU_ASSERT_EQUAL(bytes("..\xe2\x88\x95"
                          "etc",
                          8, WAF_PLACE_PATH),
                    WAF_RULE_UNICODE_TRAVERSAL);
    /* benign: text with line breaks, UTF-8 prose, Latin-1 letters, full-width slash in
     * prose */
    CU_ASSERT_EQUAL(bytes("line1\r\nline2\ttab", 16, WAF_PLACE_ARG), 0);
    CU_ASSERT_EQUAL(
        bytes("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", 17, WAF_PLACE_ARG),
        0);
    CU_ASSERT_EQUAL(bytes("cut \xf0\x9f\x98", 7, WAF_PLACE_ARG),
                    0); /* a cut-off character */
    CU_ASSERT_EQUAL(bytes("Jos\xe9 25\xb0"
                          "C",
                          8, WAF_PLACE_ARG),
                    0); /* Latin-1 */
    CU_ASSERT_EQUAL(bytes("\xe6\x9d\xb1\xe4\xba\xac\xef\xbc\x8f\xe5\xa4\xa7\xe9\x98\xaa",
                          15, WAF_PLACE_ARG),
                    0); /* Tokyo／Osaka */
}

static unsigned dbl(const char *s)
{
    struct waf_hit h;
    return waf_check_double_encoding(s, strlen(s), &h) ? h.rule : 0;
}

static void test_double_encoding(void)
{
    CU_ASSERT_EQUAL(dbl("%73%6F%6D%65"), WAF_RULE_DOUBLE_ENC);
    CU_ASSERT_EQUAL(dbl("%3Cscript"), WAF_RULE_DOUBLE_ENC);
    CU_ASSERT_EQUAL(dbl("%2e%2e/etc"), WAF_RULE_DOUBLE_ENC);
    CU_ASSERT_EQUAL(dbl("%0d%0a"), WAF_RULE_DOUBLE_ENC);
    /* a nested URL keeps its own escapes of separators */
    CU_ASSERT_EQUAL(dbl("https://a.test/login?next=%2Fhome%3Fa%3Db%26c%3Dd%20e"), 0);
    CU_ASSERT_EQUAL(dbl("100%"), 0);
}

static void test_class_names(void)
{
    CU_ASSERT_STRING_EQUAL(waf_class_name(WAF_SQLI), "sqli");
    CU_ASSERT_STRING_EQUAL(waf_class_name(WAF_SESSION), "session-fixation");
    CU_ASSERT_STRING_EQUAL(waf_class_name(WAF_PROTOCOL), "protocol");
    for (int c = 0; c < WAF_CLASS_COUNT; c++)
        CU_ASSERT_PTR_NOT_NULL(waf_class_name((enum waf_class)c));
    CU_ASSERT_STRING_EQUAL(waf_class_name(WAF_CLASS_COUNT), "unknown");
}

static void test_random(void)
{
    static const char alpha[] =
        "\r\n%0adDAbcRCPT TO:<!--#ENTITY SYSTEM.cookie;expires=GET /x "
        "HTTP/1\xe5\x98\x8d\xc0\xef\xbc\x8e\0";
    unsigned seed = 99;
    char in[400];
    struct waf_hit h;
    for (int round = 0; round < 5000; round++) {
        size_t n = (size_t)(round % 397);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
        }
        char *c = malloc(n ? n : 1);
        memcpy(c, in, n);
        for (int p = 0; p <= WAF_PLACE_BODY; p++) {
            if (waf_detect_crlf(c, n, (enum waf_place)p, &h)) CU_ASSERT(h.at <= n);
            if (waf_detect_misc(c, n, (enum waf_place)p, &h)) CU_ASSERT(h.at <= n);
            waf_check_bytes(c, n, (enum waf_place)p, &h);
        }
        waf_check_header("Range", 5, c, n, &h);
        waf_check_header("Content-Type", 12, c, n, &h);
        waf_check_scanner_ua(c, n, &h);
        waf_check_double_encoding(c, n, &h);
        waf_check_method(c, n, &h);
        free(c);
    }
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("waf_misc", NULL, NULL);
    CU_add_test(s, "crlf_attacks", test_crlf_attacks);
    CU_add_test(s, "crlf_benign", test_crlf_benign);
    CU_add_test(s, "ssi_xxe", test_ssi_xxe);
    CU_add_test(s, "mail", test_mail);
    CU_add_test(s, "session", test_session);
    CU_add_test(s, "oast", test_oast);
    CU_add_test(s, "headers", test_headers);
    CU_add_test(s, "scanners", test_scanners);
    CU_add_test(s, "method", test_method);
    CU_add_test(s, "bytes", test_bytes);
    CU_add_test(s, "double_encoding", test_double_encoding);
    CU_add_test(s, "class_names", test_class_names);
    CU_add_test(s, "random", test_random);
    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
