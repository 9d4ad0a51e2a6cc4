/* tests/waf/test_waf_rfi.c — unit tests for waf_detect_rfi (remote file inclusion /
 * SSRF). */
#include "detector_test.h"

/* Written for these tests: attacks of the class, in its usual encodings. */
static const struct sample attacks[] = {
    {WAF_PLACE_ARG, "http://169.254.169.254/latest/meta-data/"},
    {WAF_PLACE_ARG, "https://10.0.0.1/shell.php"},
    {WAF_PLACE_ARG, "http://[::1]:8080/"},
    {WAF_PLACE_ARG, "http://2130706433/"},
    {WAF_PLACE_ARG, "http:2130706433"},
    {WAF_PLACE_ARG, "https://evil.example/shell.txt?"},
    {WAF_PLACE_ARG, "ftp?"},
    {WAF_PLACE_ARG, "gopher://127.0.0.1:6379/_"},
    {WAF_PLACE_ARG, "\\\\attacker\\share\\x.php"},
    {WAF_PLACE_ARG, "http://user@192.168.1.5/x"},
};

/* Near misses: ordinary data that shares characters with the attacks. */
static const struct sample benign[] = {
    {WAF_PLACE_ARG, "https://example.com/page"},
    {WAF_PLACE_ARG, "https://localhost/checkout?step=2"},
    {WAF_PLACE_ARG, "/account/orders?page=2"},
    {WAF_PLACE_ARG, "see https://example.com, it is great"},
    {WAF_PLACE_ARG, "what is https? a protocol"},
    {WAF_PLACE_ARG, "http:0xABCDEF"},
    {WAF_PLACE_ARG, "10:30 at 1.2.3"},
    {WAF_PLACE_ARG, "mailto:jane@example.com"},
};

static void test_attacks(void)
{
    check_attacks(waf_detect_rfi, attacks, NSAMPLES(attacks));
}

static void test_benign(void)
{
    check_benign(waf_detect_rfi, benign, NSAMPLES(benign));
}

static void test_robustness(void)
{
    check_robustness(waf_detect_rfi);
}

int main(void)
{
    static const struct named_test tests[] = {
        {"attacks", test_attacks},
        {"benign near misses", test_benign},
        {"robustness", test_robustness},
    };
    return run_suite("waf_rfi", tests, NSAMPLES(tests));
}
