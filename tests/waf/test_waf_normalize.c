/*
 * tests/waf/test_waf_normalize.c — the normalisation chain (normalize.c).
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"

typedef size_t (*xf)(const char *, size_t, char *);

/* Runs f on in[0..n) (out of place and in place) and compares with want. */
static void check_n(xf f, const char *in, size_t n, const char *want, size_t wn)
{
    char out[512], inplace[512];
    memset(out, 0x5A, sizeof out);
    size_t l = f(in, n, out);
    CU_ASSERT(l <= n);
    CU_ASSERT_EQUAL(l, wn);
    CU_ASSERT(l == wn && memcmp(out, want, l) == 0);
    CU_ASSERT((unsigned char)out[n] == 0x5A); /* nothing written past n */
    memcpy(inplace, in, n);
    size_t l2 = f(inplace, n, inplace);
    CU_ASSERT(l2 == l && memcmp(inplace, out, l) == 0);
}

static void check(xf f, const char *in, const char *want)
{
    check_n(f, in, strlen(in), want, strlen(want));
}

static size_t url_plus(const char *in, size_t n, char *out)
{
    return waf_url_decode(in, n, out, WAF_URL_PLUS | WAF_URL_PERCENT_U, NULL, NULL);
}

static size_t url_plain(const char *in, size_t n, char *out)
{
    return waf_url_decode(in, n, out, 0, NULL, NULL);
}

static size_t url_full(const char *in, size_t n, char *out)
{
    return waf_url_decode_full(in, n, out, WAF_URL_PLUS, NULL);
}

static size_t path_bs(const char *in, size_t n, char *out)
{
    return waf_path_normalize(in, n, out, 1);
}

static size_t path_nobs(const char *in, size_t n, char *out)
{
    return waf_path_normalize(in, n, out, 0);
}

static void test_url_decode(void)
{
    check(url_plus, "a%20b+c", "a b c");
    check(url_plain, "a%20b+c", "a b+c");
    check(url_plus, "%3Cscript%3e", "<script>");
    check(url_plus, "100%", "100%");           /* trailing '%' kept */
    check(url_plus, "%zz%4", "%zz%4");         /* invalid escapes kept */
    check(url_plus, "%u0041%U003c", "A<");     /* IIS %u */
    check(url_plain, "%u0041", "%u0041");      /* %u only when asked */
    check(url_plus, "%u30c6", "\xe3\x83\x86"); /* to UTF-8 */
    check_n(url_plus, "%00x", 4, "\0x", 2);
    size_t dec, bad;
    char out[32];
    waf_url_decode("%41%zz%", 7, out, 0, &dec, &bad);
    CU_ASSERT_EQUAL(dec, 1);
    CU_ASSERT_EQUAL(bad, 2);
}

static void test_url_decode_full(void)
{
    check(url_full, "%252e%252e%252f", "../");   /* double encoding */
    check(url_full, "%25252e", ".");             /* triple */
    check(url_full, "plain+text", "plain text"); /* plus on the first pass only */
    check(url_full, "%252B", "+");               /* a decoded '+' stays a '+' */
    check(url_full, "no escapes", "no escapes");
    int passes = 0;
    char out[32];
    waf_url_decode_full("%2541", 5, out, 0, &passes);
    CU_ASSERT_EQUAL(passes, 2);
}

static void test_html(void)
{
    check(waf_html_decode, "&lt;script&gt;", "<script>");
    check(waf_html_decode, "&#60;&#x3c;&#X3C;", "<<<");
    check(waf_html_decode, "&#0000060", "<"); /* leading zeros, no ';' */
    check(waf_html_decode, "java&#x09;script&colon;", "java\tscript:");
    check(waf_html_decode, "&lpar;1&rpar;", "(1)");
    check(waf_html_decode, "AT&T and R&D", "AT&T and R&D"); /* not references */
    check(waf_html_decode, "&unknown;", "&unknown;");
    check(waf_html_decode, "&quot&apos;", "\"'");
    check(waf_html_decode, "&#1114112;", "\xef\xbf\xbd"); /* out of range: U+FFFD */
    check(waf_html_decode, "fish &amp; chips", "fish & chips");
    check(waf_html_decode, "&", "&");
    check(waf_html_decode, "&#", "&#");
}

static void test_escapes(void)
{
    check(waf_escape_decode, "\\x3cscript\\x3e", "<script>");
    check(waf_escape_decode, "\\u003c\\u{3e}", "<>");
    check(waf_escape_decode, "\\101\\102", "AB");
    check(waf_escape_decode, "line\\nbreak", "line\\nbreak"); /* kept */
    check(waf_escape_decode, "C:\\\\dir", "C:\\\\dir");
    check(waf_escape_decode, "\\xZZ\\u12", "\\xZZ\\u12");
    check(waf_escape_decode, "\\", "\\");
}

static void test_case_ws(void)
{
    check(waf_lowercase, "SeLeCt \xc3\x89", "select \xc3\x89");
    check(waf_compress_ws,
          "a \t\r\n b\x0b\x0c"
          "c",
          "a b c");
    check(waf_compress_ws,
          "a\xc2\xa0\xc2\xa0"
          "b",
          "a b"); /* UTF-8 no-break space */
    check(waf_compress_ws, "  lead", " lead");
}

static void test_comments(void)
{
    check(waf_remove_comments, "UN/**/ION SEL/*x*/ECT", "UN ION SEL ECT");
    check(waf_remove_comments, "/*!50000UNION*/ SELECT", " UNION  SELECT");
    check(waf_remove_comments, "1' -- comment", "1'  ");
    check(waf_remove_comments, "1'#x\nor 1", "1' \nor 1");
    check(waf_remove_comments, "a /* open", "a  ");
    check(waf_remove_comments, "5-3", "5-3");
}

static void test_strip_comments(void)
{
    check(waf_strip_inline_comments, "uni/**/on sel/*x*/ect", "union select");
    check(waf_strip_inline_comments, "a/*open", "a");
    check(waf_strip_inline_comments, "1 -- x # y", "1 -- x # y");
    check(waf_strip_inline_comments, "5/2*3", "5/2*3");
}

static void test_path(void)
{
    check(path_nobs, "/a/./b//c", "/a/b/c");
    check(path_nobs, "/a/../../etc/passwd", "/../etc/passwd"); /* traversal stays */
    check(path_nobs, "../../etc", "../../etc");
    check(path_nobs, "a/b/../c/", "a/c/");
    check(path_nobs, "/..", "/..");
    check(path_nobs, "..", "..");
    check(path_nobs, "/", "/");
    check(path_nobs, "", "");
    check(path_nobs, "/a\\..\\b", "/a\\..\\b");
    check(path_bs, "/a\\..\\..\\b", "/../b");
    check(path_bs, "..\\..\\windows\\win.ini", "../../windows/win.ini");
    check(path_nobs, "/file.tar.gz", "/file.tar.gz"); /* dots in names are not segments */
    check(path_nobs, "/a/.../b", "/a/.../b");
}

static void test_nul_shell(void)
{
    check_n(waf_remove_nul, "a\0b\0", 4, "ab", 2);
    check(waf_shell_deobfuscate, "c''at /e\"t\"c/pa\\sswd", "cat /etc/passwd");
    check(waf_shell_deobfuscate, "c^md /c who^ami", "cmd /c whoami");
    check(waf_shell_deobfuscate, "cat${IFS}/etc/passwd", "cat /etc/passwd");
    check(waf_shell_deobfuscate, "cat$IFS$9/etc", "cat /etc");
    check(waf_shell_deobfuscate, "w$@ho$*ami", "whoami");
    check(waf_shell_deobfuscate, "price $5", "price $5");
}

static void test_charset(void)
{
    CU_ASSERT_EQUAL(waf_charset("abcXYZ-12", 9), 0);
    CU_ASSERT_EQUAL(waf_charset("abc_XYZ-12", 10), WAF_CS_UNDER);
    CU_ASSERT_EQUAL(waf_charset("abc_XYZ-1.2", 11), WAF_CS_DOT | WAF_CS_UNDER);
    CU_ASSERT_EQUAL(waf_charset("a-b.c", 5) & ~WAF_CS_WORDY, 0);
    CU_ASSERT_EQUAL(waf_charset("a b", 3), WAF_CS_SPACE);
    unsigned m = waf_charset("<a href='x'>", 12);
    CU_ASSERT(m & WAF_CS_LT && m & WAF_CS_GT && m & WAF_CS_SQUOTE && m & WAF_CS_EQ);
    CU_ASSERT(waf_charset("1 -- x", 6) & WAF_CS_DASH2);
    CU_ASSERT(!(waf_charset("a-b-c", 5) & WAF_CS_DASH2));
    CU_ASSERT(waf_charset("a/*b", 4) & WAF_CS_DASH2);
    CU_ASSERT(waf_charset("../x", 4) & WAF_CS_DOT2);
    CU_ASSERT(!(waf_charset("a.b.c", 5) & WAF_CS_DOT2));
    CU_ASSERT(waf_charset("a\0", 2) & WAF_CS_NUL);
    CU_ASSERT(waf_charset("\xc3\xa9", 2) & WAF_CS_HIGH);
    CU_ASSERT_EQUAL(waf_charset("", 0), 0);
    /* pairs in short values (a loop) and long ones (memchr), at both ends */
    CU_ASSERT(waf_charset("--", 2) & WAF_CS_DASH2);
    CU_ASSERT(waf_charset("x-a-b-c-d-e-f-g--", 17) & WAF_CS_DASH2);
    CU_ASSERT(!(waf_charset("x-a-b-c-d-e-f-g-h", 17) & WAF_CS_DASH2));
    CU_ASSERT(waf_charset("abcdefghijklmno..", 17) & WAF_CS_DOT2);
    CU_ASSERT(!(waf_charset("a.b.c.d.e.f.g.h.i", 17) & WAF_CS_DOT2));
    CU_ASSERT(waf_charset("PZ--0", 5) & WAF_CS_DASH2);
    CU_ASSERT(!(waf_charset("PZ-000", 6) & WAF_CS_DASH2));
}

/* Every function on random bytes: bounded output, in place == out of place. */
static void test_random_bytes(void)
{
    static const xf fns[] = {
        url_plus,      url_full,        waf_html_decode,      waf_escape_decode,
        waf_lowercase, waf_compress_ws, waf_remove_comments,  path_bs,
        path_nobs,     waf_remove_nul,  waf_shell_deobfuscate};
    static const char alphabet[] =
        "%&#;\\/.xu{}0123456789abcdefABCDEF<>'\"*-+$IFS \t\n\0\xc2\xa0";
    unsigned seed = 12345;
    char in[300], a[300], b[300];
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(round % 257);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] = (seed >> 16) % 3 == 0
                        ? (char)(seed >> 8)
                        : alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
            memset(a, 0x5A, sizeof a);
            size_t la = fns[f](in, n, a);
            memcpy(b, in, n);
            size_t lb = fns[f](b, n, b);
            CU_ASSERT(la <= n && (unsigned char)a[n] == 0x5A);
            CU_ASSERT(la == lb && memcmp(a, b, la) == 0);
        }
        (void)waf_charset(in, n);
    }
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("waf_normalize", NULL, NULL);
    CU_add_test(s, "url_decode", test_url_decode);
    CU_add_test(s, "url_decode_full", test_url_decode_full);
    CU_add_test(s, "html", test_html);
    CU_add_test(s, "escapes", test_escapes);
    CU_add_test(s, "case_ws", test_case_ws);
    CU_add_test(s, "comments", test_comments);
    CU_add_test(s, "strip_comments", test_strip_comments);
    CU_add_test(s, "path", test_path);
    CU_add_test(s, "nul_shell", test_nul_shell);
    CU_add_test(s, "charset", test_charset);
    CU_add_test(s, "random_bytes", test_random_bytes);
    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
