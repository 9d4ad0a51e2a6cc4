/* tests/waf/test_waf_ssti.c — unit tests for waf_detect_ssti (server-side template
 * injection). */
#include "detector_test.h"

/* Written for these tests: attacks of the class, in its usual encodings. */
static const struct sample attacks[] = {
    {WAF_PLACE_ARG, "{{7*7}}"},
    {WAF_PLACE_ARG, "{{ ''.__class__.__mro__[1] }}"},
    {WAF_PLACE_ARG, "{{config.items()}}"},
    {WAF_PLACE_ARG, "${7*7}"},
    {WAF_PLACE_ARG, "#{7*7}"},
    {WAF_PLACE_ARG, "<%= 7*7 %>"},
    {WAF_PLACE_ARG, "{% import os %}"},
    {WAF_PLACE_ARG, "<#assign ex=\"freemarker.template.utility.Execute\"?new()>"},
    {WAF_PLACE_ARG, "{{ get_user_file(\"/etc/hosts\") }}"},
    {WAF_PLACE_ARG, "{{ self._TemplateReference__context }}"},
};

/* Near misses: ordinary data that shares characters with the attacks. */
static const struct sample benign[] = {
    {WAF_PLACE_ARG, "{{name}}"},
    {WAF_PLACE_ARG, "{{ user.first_name }}"},
    {WAF_PLACE_ARG, "Hello ${name}"},
    {WAF_PLACE_ARG, "{\"a\": {\"b\": 1}}"},
    {WAF_PLACE_ARG, "query { user(id: 1) { name } }"},
    {WAF_PLACE_ARG, "50% off {today}"},
    {WAF_PLACE_ARG, "{% $NUM_VIEWS|STRING_FORMAT:\"%D\" %} VUES"},
    {WAF_PLACE_ARG, "a <% b"},
};

static void test_attacks(void)
{
    check_attacks(waf_detect_ssti, attacks, NSAMPLES(attacks));
}

static void test_benign(void)
{
    check_benign(waf_detect_ssti, benign, NSAMPLES(benign));
}

static void test_robustness(void)
{
    check_robustness(waf_detect_ssti);
}

int main(void)
{
    static const struct named_test tests[] = {
        {"attacks", test_attacks},
        {"benign near misses", test_benign},
        {"robustness", test_robustness},
    };
    return run_suite("waf_ssti", tests, NSAMPLES(tests));
}
