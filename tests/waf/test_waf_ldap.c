/* tests/waf/test_waf_ldap.c — unit tests for waf_detect_ldap (LDAP filter injection). */
#include "detector_test.h"

/* Written for these tests: attacks of the class, in its usual encodings. */
static const struct sample attacks[] = {
    {WAF_PLACE_ARG, "*)(uid=*))(|(uid=*"},  {WAF_PLACE_ARG, "admin)(&)"},
    {WAF_PLACE_ARG, "*(|(objectclass=*))"}, {WAF_PLACE_ARG, "x)(|(password=*)"},
    {WAF_PLACE_ARG, "admin*))%00"},         {WAF_PLACE_ARG, "(&(cn=*)(userPassword=*))"},
};

/* Near misses: ordinary data that shares characters with the attacks. */
static const struct sample benign[] = {
    {WAF_PLACE_ARG, "(a)(b)"},
    {WAF_PLACE_ARG, "John (Johnny) Smith"},
    {WAF_PLACE_ARG, "smile :)(wink"},
    {WAF_PLACE_ARG, "f(x) = 2*(y)"},
    {WAF_PLACE_ARG, "see note (1) and (2)"},
    {WAF_PLACE_ARG, "a*b)"},
};

static void test_attacks(void)
{
    check_attacks(waf_detect_ldap, attacks, NSAMPLES(attacks));
}

static void test_benign(void)
{
    check_benign(waf_detect_ldap, benign, NSAMPLES(benign));
}

static void test_robustness(void)
{
    check_robustness(waf_detect_ldap);
}

int main(void)
{
    static const struct named_test tests[] = {
        {"attacks", test_attacks},
        {"benign near misses", test_benign},
        {"robustness", test_robustness},
    };
    return run_suite("waf_ldap", tests, NSAMPLES(tests));
}
