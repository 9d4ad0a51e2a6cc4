/* tests/waf/test_waf_nosql.c — unit tests for waf_detect_nosql (NoSQL / ORM injection).
 */
#include "detector_test.h"

/* Written for these tests: attacks of the class, in its usual encodings. */
static const struct sample attacks[] = {
    /* each rule's first byte: '$', a quote, "do", "this." */
    {WAF_PLACE_ARG, "x\"; return true; //"},
    {WAF_PLACE_ARG, "(this.password.match(/^a/))"},
    {WAF_PLACE_ARG_NAME, "username[$ne]"},
    {WAF_PLACE_ARG_NAME, "$gt"},
    {WAF_PLACE_ARG, "{\"$where\": \"sleep(100)\"}"},
    {WAF_PLACE_ARG, "', $or: [ {}, { 'a':'a"},
    {WAF_PLACE_ARG, "';return true;//"},
    {WAF_PLACE_ARG, "{\"password\": {\"$regex\": \"^a\"}}"},
    {WAF_PLACE_ARG, "do{x=1}while(x)"},
    {WAF_PLACE_ARG, "db.users.find()"},
    {WAF_PLACE_ARG, "this.password.match(/^a/)"},
    {WAF_PLACE_ARG_NAME, "created_by__user__password__startswith"},
};

/* Near misses: ordinary data that shares characters with the attacks. */
static const struct sample benign[] = {
    {WAF_PLACE_ARG, "half pepperoni; half mushroom & olives"},
    {WAF_PLACE_ARG, "don't (do) this. thanks"},
    {WAF_PLACE_ARG, "price is $5"},
    {WAF_PLACE_ARG, "{\"total\": 5, \"currency\": \"USD\"}"},
    {WAF_PLACE_ARG_NAME, "filter[category]"},
    {WAF_PLACE_ARG_NAME, "created_at__gte"},
    {WAF_PLACE_ARG, "I do {not} know"},
    {WAF_PLACE_ARG, "It's done; return it"},
    {WAF_PLACE_ARG, "costs $ne dollars"},
    {WAF_PLACE_ARG_NAME, "user_name"},
};

static void test_attacks(void)
{
    check_attacks(waf_detect_nosql, attacks, NSAMPLES(attacks));
}

static void test_benign(void)
{
    check_benign(waf_detect_nosql, benign, NSAMPLES(benign));
}

static void test_robustness(void)
{
    check_robustness(waf_detect_nosql);
}

int main(void)
{
    static const struct named_test tests[] = {
        {"attacks", test_attacks},
        {"benign near misses", test_benign},
        {"robustness", test_robustness},
    };
    return run_suite("waf_nosql", tests, NSAMPLES(tests));
}
