/*
 * tests/waf/test_waf_sqli.c — unit tests of the SQL injection detector.
 * Inputs are written for these tests: attacks of each shape the grammar
 * knows, and near-miss benign text that must stay clean.
 */
#include "detect.h"
#include "normalize.h"
#include "random_phrase.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

static int sqli(const char *s)
{
    struct waf_hit hit;
    memset(&hit, 0, sizeof hit);
    int r = waf_detect_sqli(s, strlen(s), WAF_PLACE_ARG, &hit);
    if (r) {
        CU_ASSERT_EQUAL(hit.cls, WAF_SQLI);
        CU_ASSERT_EQUAL(hit.score, 5);
        CU_ASSERT(hit.rule >= 942000 && hit.rule < 943000);
        CU_ASSERT_PTR_NOT_NULL(hit.reason);
        CU_ASSERT(hit.at + hit.len <= strlen(s));
    }
    return r;
}

static void expect_all(const char *const *list, int want)
{
    for (; *list; list++) {
        int got = sqli(*list);
        if (got != want)
            fprintf(stderr, "\n  %s: %s\n", want ? "missed" : "false positive", *list);
        CU_ASSERT_EQUAL(got, want);
    }
}

static void test_tautologies(void)
{
    static const char *const a[] = {"' or '1'='1",      "admin' OR 1=1-- ",
                                    "x\" or \"a\"=\"a", "7 OR 7=7",
                                    "99 and 3>2",       "') or ('z'='z",
                                    "abc')) OR ((2=2",  "' or true#",
                                    "name' or x=y--",   " or 5=5",
                                    "1 AnD 4<5",        "' or 42--",
                                    "5 or 6=6 limit 1", NULL};
    expect_all(a, 1);
}

static void test_union(void)
{
    static const char *const a[] = {
        "-7 union select 1,2,3",
        "' UNION ALL SELECT username, password FROM accounts--",
        "9 union distinct select null,null",
        "x') union (select 1)",
        "1/*!50000union*//*!50000select*/ 4,5",
        "abc\" union select @@version #",
        "0 UNION SELECT table_name FROM information_schema.tables",
        NULL};
    expect_all(a, 1);
}

static void test_stacked_and_comments(void)
{
    static const char *const a[] = {"5; DROP TABLE members",
                                    "'; delete from orders where 1=1; --",
                                    "x'; insert into admins (u) values ('me')--",
                                    "1; exec master..xp_cmdshell 'dir'",
                                    "'; shutdown--",
                                    "joe'--",
                                    "joe'#",
                                    "joe' /*",
                                    "4); update users set role='admin'--",
                                    "'; declare @q varchar(99)",
                                    NULL};
    expect_all(a, 1);
}

static void test_functions_and_probes(void)
{
    static const char *const a[] = {
        "1 and sleep(4)",
        "' and benchmark(9000000,md5(1))#",
        "1) or pg_sleep(3)--",
        "'||pg_sleep(7)||'",
        "'; waitfor delay '0:0:9'--",
        "x' waitfor delay '00:00:05'--",
        "1 and extractvalue(1,concat(0x7e,version()))",
        "' and updatexml(1,concat(0x2e,user()),1)--",
        "select load_file('/etc/passwd')",
        "' ORDER BY 12--",
        " GROUP BY 3#",
        "(select count(*) from pg_catalog.pg_tables)",
        "select @@datadir",
        "1 and (select 1 from dual)=1",
        "'+(select 'x')+'",
        "' into outfile '/var/www/x.php'--",
        "1 procedure analyse(1,1)",
        "' AND 1=CONVERT(int,(SELECT TOP 1 name FROM sysobjects))--",
        "1 or ascii(substring(user(),1,1))>64",
        NULL};
    expect_all(a, 1);
}

static void test_benign_prose(void)
{
    static const char *const b[] = {
        "it's John's book",
        "O'Reilly",
        "Don't drop the ball; select a plan that fits",
        "select the best option",
        "Please select your country from the list",
        "drop-down menu",
        "1-2 of 10",
        "Tom & Jerry",
        "rock 'n' roll or jazz",
        "the Joneses' or the Smiths' house",
        "I'd like 2 or 3 of them",
        "5'10\" tall",
        "union station",
        "Credit union, select branch",
        "Order by phone: call 555-0100",
        "why is 1+1=2 and not 3?",
        "best price -- limited offer",
        "C# or F#?",
        "email me at joe@example.com",
        "\"quoted\" text and 'single' ones",
        "{\"name\":\"Ann\",\"age\":31,\"tags\":[\"a\",\"b\"]}",
        "query { user(id: 5) { name email } }",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)",
        "sleep well (8 hours a day)",
        "I need sleep(5 hours)",
        "pick 1 or 2",
        "a=1&b=2",
        "price >= 10 and price <= 20",
        "It's 5 o'clock; let's go",
        "The 'or' operator",
        "see RFC 2616 (section 14.9); ok",
        "hello -- world",
        "tag: #summer-sale",
        "x = y and z",
        "'",
        "\"",
        "''",
        "Rock & Roll Hall of Fame",
        "user_tables",
        "what's 'select' in French?",
        NULL};
    expect_all(b, 0);
}

static void test_fingerprint(void)
{
    char fp[8];
    CU_ASSERT_EQUAL(waf_sqli_fingerprint("1 union select 2", 16, fp), 1);
    CU_ASSERT_STRING_EQUAL(fp, "1UE1");
    CU_ASSERT_EQUAL(waf_sqli_fingerprint("' or 1=1--", 10, fp), 1);
    CU_ASSERT_STRING_EQUAL(fp, "s&1o1");
    CU_ASSERT_EQUAL(waf_sqli_fingerprint("hello world", 11, fp), 0);
    CU_ASSERT_STRING_EQUAL(fp, "nn");
    CU_ASSERT(strlen(fp) <= 5);
}

/* An apostrophe inside a word is prose unless a SQL word touches it: the
 * prefilter lets prose through without lexing, and attacks that glue a
 * keyword to the quote are still lexed. */
static void test_inword_apostrophe(void)
{
    static const char *const benign[] = {
        "extra basil, please; it's for Tom's birthday", "O'Brien",     "12 Baker's Row",
        "I can't; we won't; they'd rather not",         "rock'n'roll", NULL};
    static const char *const attack[] = {
        "x'or'1'='1",  "admin'or'1",           "1having'1",
        "1'and'1'='1", "x'union select 1,2--", NULL};
    expect_all(benign, 0);
    expect_all(attack, 1);
}

/* '!', '&', '@' and a spaced "--" as prose writes them skip the lexer; the
 * same bytes where SQL uses them are still lexed and caught. */
static void test_prose_punctuation(void)
{
    static const char *const benign[] = {"surprise us! (no anchovies though)",
                                         "no onions (allergy!) - thanks",
                                         "half pepperoni; half mushroom & olives",
                                         "ann.obrien@example.com",
                                         "light on the cheese -- doctor's orders",
                                         "Ring twice -- the bell's broken. Don't!",
                                         NULL};
    static const char *const attack[] = {"1 or true -- x", "1 or 1 --",
                                         "x or x -- y",    "1 and @@version is not null",
                                         "1 or @a",        NULL};
    expect_all(benign, 0);
    expect_all(attack, 1);
}

/* waf_sqli_possible() lets the engine skip the detector on a value and on
 * its comment-free forms: 0 must mean no finding on any of them. */
static void test_possible(void)
{
    static const char *const fire[] = {"1' or '1'='1", "un/**/ion select",   "1 or 1 --",
                                       "x'-- ",        "1#\nunion select 1", NULL};
    for (const char *const *f = fire; *f; f++)
        CU_ASSERT_EQUAL(waf_sqli_possible(*f, strlen(*f)), 1);
    static const char *const prose[] = {"light on the cheese -- doctor's orders",
                                        "Ring twice -- the bell's broken.", NULL};
    for (const char *const *f = prose; *f; f++)
        CU_ASSERT_EQUAL(waf_sqli_possible(*f, strlen(*f)), 0);
    /* property: random phrases of SQL pieces, comments and prose */
    static const char *const frag[] = {"union",  "un",
                                       "ion",    "select",
                                       "sel",    "ect",
                                       " ",      "\n",
                                       "--",     "-",
                                       "#",      "/*",
                                       "*/",     "/*!",
                                       "50000",  "*",
                                       "/",      "'",
                                       "\"",     "it's",
                                       "x'",     "O'",
                                       "1",      "or",
                                       "and",    "true",
                                       "=",      "!",
                                       "&",      "@",
                                       "a@b",    "@@",
                                       "(",      ")",
                                       ";",      "from",
                                       "users",  "information_schema",
                                       ".",      "_",
                                       "$",      "sleep",
                                       "chilli", ",",
                                       "+",      "\t",
                                       "x",      "is",
                                       "not",    "null",
                                       "like",   "<",
                                       ">"};
    unsigned seed = 4242;
    char buf[128], out[256];
    struct waf_hit h;
    for (int it = 0; it < 200000; it++) {
        /* at most half of buf: a comment opener may grow to "  \n" */
        size_t n =
            random_phrase(&seed, frag, sizeof frag / sizeof frag[0], buf, sizeof buf / 2);
        if (waf_sqli_possible(buf, n)) continue;
        size_t on = waf_remove_comments(buf, n, out);
        size_t jn = waf_strip_inline_comments(buf, n, out + 128);
        int r = waf_detect_sqli(buf, n, WAF_PLACE_ARG, &h) ||
                waf_detect_sqli(out, on, WAF_PLACE_ARG, &h) ||
                waf_detect_sqli(out + 128, jn, WAF_PLACE_ARG, &h);
        if (r) fprintf(stderr, "fires but not possible: %.*s\n", (int)n, buf);
        CU_ASSERT_EQUAL_FATAL(r, 0);
    }
}

/* The gate reads values under 64 bytes from byte-class bit masks: it must
 * answer as the byte-at-a-time gate on any bytes, at every length around
 * the 16-byte steps, with apostrophes and runs of 28 letters. */
static void test_possible_masks(void)
{
    static const char alphabet[] = "aAzZ09_$.' \t-/*#@!&=<>|\"`(),;:+%\xc3\x80\0sunio";
    static const char *const pieces[] = {"union",
                                         "select",
                                         "O'Brien",
                                         "it's",
                                         "x'or'1",
                                         "1'and",
                                         "ann.obrien@example.com",
                                         "info_schema",
                                         "information_schema",
                                         "--",
                                         "/*",
                                         " -- ",
                                         "sleep",
                                         "abcdefghijklmnopqrstuvwxyzab'",
                                         "'abcdefghijklmnopqrstuvwxyz12"};
    unsigned seed = 77;
    char buf[80];
    for (int it = 0; it < 300000; it++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 16) % 70;
        for (size_t i = 0; i < n;) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 16;
            if (r % 8 == 0) { /* a piece, cut at n */
                const char *p = pieces[(r >> 3) % (sizeof pieces / sizeof pieces[0])];
                for (; *p && i < n; p++)
                    buf[i++] = *p;
            } else {
                buf[i++] = alphabet[(r >> 3) % (sizeof alphabet - 1)];
            }
        }
        int want = waf_sqli_possible_bytes(buf, n), got = waf_sqli_possible(buf, n);
        if (want != got)
            fprintf(stderr, "masks %d bytes %d: %.*s\n", got, want, (int)n, buf);
        CU_ASSERT_EQUAL_FATAL(got, want);
    }
    /* attacks and near misses across the in-word quote and trigger filters */
    static const char *const fire[] = {"x'or'1",
                                       "1'and",
                                       "O'union",
                                       "it'sleep",
                                       "abcdefghijklmnopqrstuvwxyzab'c",
                                       "1 union select 2",
                                       "pg_sleep",
                                       NULL};
    static const char *const calm[] = {"O'Brien", "it's for Tom's birthday", "x'1",
                                       "unions",  "selects and orders",      "ann.obrien",
                                       NULL};
    for (const char *const *f = fire; *f; f++)
        CU_ASSERT_EQUAL(waf_sqli_possible(*f, strlen(*f)), 1);
    for (const char *const *f = calm; *f; f++)
        CU_ASSERT_EQUAL(waf_sqli_possible(*f, strlen(*f)), 0);
}

static void test_robustness(void)
{
    /* NUL bytes, high bytes, unterminated constructs, long inputs. */
    static const char nul[] = "1\0 or 1=1";
    struct waf_hit hit;
    CU_ASSERT_EQUAL(waf_detect_sqli(nul, sizeof nul - 1, WAF_PLACE_ARG, &hit), 1);
    CU_ASSERT_EQUAL(waf_detect_sqli("", 0, WAF_PLACE_ARG, &hit), 0);
    CU_ASSERT_EQUAL(waf_detect_sqli("\xff\xfe'\x80(", 5, WAF_PLACE_ARG, &hit), 0);
    CU_ASSERT_EQUAL(waf_detect_sqli("/*", 2, WAF_PLACE_ARG, &hit), 0);
    CU_ASSERT_EQUAL(waf_detect_sqli("'((((((((", 9, WAF_PLACE_ARG, NULL), 0);

    static char big[200000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = "ab (c), 'd' = e; "[i % 17];
    (void)waf_detect_sqli(big, sizeof big, WAF_PLACE_BODY, &hit);
    /* An attack far into a long value is still found (windows slide). */
    static const char tail[] = " x; drop table accounts";
    size_t off = sizeof big - sizeof tail;
    memset(big, 'w', off);
    for (size_t i = 0; i < off; i += 6)
        big[i] = ' ';
    memcpy(big + off, tail, sizeof tail - 1);
    CU_ASSERT_EQUAL(waf_detect_sqli(big, sizeof big - 1, WAF_PLACE_BODY, &hit), 1);
    memset(big, '(', sizeof big);
    CU_ASSERT_EQUAL(waf_detect_sqli(big, sizeof big, WAF_PLACE_BODY, &hit), 0);
    memset(big, '\'', sizeof big);
    (void)waf_detect_sqli(big, sizeof big, WAF_PLACE_BODY, &hit);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite("waf_sqli", NULL, NULL);
    CU_add_test(s, "tautologies", test_tautologies);
    CU_add_test(s, "union", test_union);
    CU_add_test(s, "gate by masks", test_possible_masks);
    CU_add_test(s, "stacked queries and comments", test_stacked_and_comments);
    CU_add_test(s, "functions and probes", test_functions_and_probes);
    CU_add_test(s, "benign prose", test_benign_prose);
    CU_add_test(s, "fingerprint", test_fingerprint);
    CU_add_test(s, "in-word apostrophe", test_inword_apostrophe);
    CU_add_test(s, "prose punctuation", test_prose_punctuation);
    CU_add_test(s, "possible", test_possible);
    CU_add_test(s, "robustness", test_robustness);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
