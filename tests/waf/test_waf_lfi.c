/* tests/waf/test_waf_lfi.c — unit tests for waf_detect_lfi (path traversal and local file
 * inclusion). */
#include "detector_test.h"

/* Written for these tests: attacks of the class, in its usual encodings. */
static const struct sample attacks[] = {
    {WAF_PLACE_ARG, "../../etc/passwd"},
    {WAF_PLACE_ARG, "..\\..\\windows\\win.ini"},
    {WAF_PLACE_ARG, "/var/www/../../etc/shadow"},
    {WAF_PLACE_ARG, "..%252f..%252fetc%252fpasswd"},
    {WAF_PLACE_ARG, "%c0%ae%c0%ae/%c0%ae%c0%ae/boot.ini"},
    {WAF_PLACE_ARG, "\xc0\xae\xc0\xae\xc0\xaf\xc0\xae\xc0\xae\xc0\xaf"
                    "etc/issue"},
    {WAF_PLACE_ARG, "..%u2215..%u2215etc%u2215hosts"},
    {WAF_PLACE_ARG, "0x2e0x2e0x2fwindows/system32/config"},
    {WAF_PLACE_ARG, "....//....//etc/group"},
    {WAF_PLACE_ARG, "/.../.../.../config.sys"},
    {WAF_PLACE_ARG, "file:///proc/self/environ"},
    {WAF_PLACE_ARG, "C:\\inetpub\\wwwroot\\web.config"},
    {WAF_PLACE_ARG, "/proc/self/cmdline"},
    {WAF_PLACE_ARG, "WEB-INF/web.xml"},
    {WAF_PLACE_ARG, "report.pdf%00.html"},
    {WAF_PLACE_PATH, "/static/../../../etc/hosts"},
    {WAF_PLACE_PATH, "/app/.git/config"},
    {WAF_PLACE_PATH, "/backup/db.sql"},
    {WAF_PLACE_COOKIE, "../../../../home/user/.ssh/id_rsa"},
    /* without a dot, a colon or a NUL: only the sensitive-name checks apply */
    {WAF_PLACE_PATH, "/etc/passwd"},
    {WAF_PLACE_ARG, "/etc/shadow"},
    /* a colon: drive letters and the file wrapper; a NUL: truncation */
    {WAF_PLACE_ARG, "c:/windows/system32"},
    {WAF_PLACE_ARG, "file:/etc/hosts"},
    {WAF_PLACE_ARG, "img/logo%00"},
    /* absolute paths into OS directories (each first letter of the list) */
    {WAF_PLACE_ARG, "/usr/local/x"},
    {WAF_PLACE_ARG, "//var/backups/x"},
    {WAF_PLACE_HEADER, "/root/x"},
};

/* Near misses: ordinary data that shares characters with the attacks. */
static const struct sample benign[] = {
    {WAF_PLACE_ARG, "/usrlocal/x"}, /* near the OS directories */
    {WAF_PLACE_ARG, "/menu/pizza/"},
    {WAF_PLACE_ARG, "Wait... what?"},
    {WAF_PLACE_ARG, "see page 1..10"},
    {WAF_PLACE_ARG, "report.final.v2.pdf"},
    {WAF_PLACE_ARG, "/account/orders?page=2"},
    {WAF_PLACE_ARG, "https://example.com/a/b.html"},
    {WAF_PLACE_ARG, "jane.doe@example.com"},
    {WAF_PLACE_ARG, "1.5 < 2.5"},
    {WAF_PLACE_ARG, "He said: \"ok.\""},
    {WAF_PLACE_PATH, "/static/app.min.js"},
    {WAF_PLACE_PATH, "/.well-known/acme-challenge/x"},
    {WAF_PLACE_ARG, "{\"a\": \"b.c\"}"},
    {WAF_PLACE_ARG, "caf\xc3\xa9 au lait"},
    {WAF_PLACE_ARG, "foo..."},
    {WAF_PLACE_HEADER, "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/115.0"},
    /* plain paths and times */
    {WAF_PLACE_PATH, "/size/100"},
    {WAF_PLACE_PATH, "/menu/"},
    {WAF_PLACE_ARG, "at 7:30/8:00"},
};

static void test_attacks(void)
{
    check_attacks(waf_detect_lfi, attacks, NSAMPLES(attacks));
}

static void test_benign(void)
{
    check_benign(waf_detect_lfi, benign, NSAMPLES(benign));
}

static void test_robustness(void)
{
    check_robustness(waf_detect_lfi);
}

int main(void)
{
    static const struct named_test tests[] = {
        {"attacks", test_attacks},
        {"benign near misses", test_benign},
        {"robustness", test_robustness},
    };
    return run_suite("waf_lfi", tests, NSAMPLES(tests));
}
