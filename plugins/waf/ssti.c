/*
 * plugins/waf/ssti.c — server-side template injection (rules 934500+).
 *
 * Template delimiters alone are data ("{{name}}" in a mail-merge field, GraphQL
 * and JSON braces): what fires is an expression inside them that a value never
 * needs: a call, arithmetic on literals (the {{7*7}} probe), dunder attributes
 * (__class__, __globals__), filters that reach attributes (|attr), and the objects
 * template sandboxes expose (config, self, request, lipsum, cycler ...). Directive
 * syntax of Freemarker, Velocity and ERB/ASP is flagged on its own.
 *
 *   934500  {{ ... }} or {% ... %} with an expression (Jinja2, Twig, Nunjucks ...)
 *   934510  ${ ... } / #{ ... } / *{ ... } with an expression (EL, Freemarker,
 *           Thymeleaf, Mako)
 *   934520  <% ... %> code blocks (ERB, ASP, JSP)
 *   934530  template directives (<#assign, #set(, #foreach(, #evaluate()
 */
#include "detect.h"
#include "detect_util.h"

#include <string.h>

#define MAX_EXPR 256

/* Objects and helpers that template sandbox escapes go through. */
static const char *const sandbox_objects[] = {
    "config",     "self",    "request",
    "lipsum",     "cycler",  "joiner",
    "namespace",  "url_for", "get_flashed_messages",
    "settings",   "app",     "application",
    "session",    "_self",   "env",
    "this",       "runtime", "class",
    "freemarker", "product", NULL};

/* 1 when expr[0..len) is code rather than a variable reference. */
static int is_expression(const char *e, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)e[i];
        if (c == '(' && i > 0) return 1;                          /* a call */
        if (c == '_' && i + 1 < len && e[i + 1] == '_') return 1; /* __class__ */
        if ((c == '*' || c == '+' || c == '-' || c == '/' || c == '%') && i > 0) {
            /* arithmetic between literals: 7*7, 7*'7' */
            size_t a = i, b = i + 1;
            while (a > 0 && e[a - 1] == ' ')
                a--;
            while (b < len && e[b] == ' ')
                b++;
            if (a > 0 && b < len &&
                (waf_is_digit((unsigned char)e[a - 1]) || e[a - 1] == '\'') &&
                (waf_is_digit((unsigned char)e[b]) || e[b] == '\''))
                return 1;
        }
        if (c == '|' && i + 1 < len) {
            size_t b = waf_skip_space(e, len, i + 1);
            if (waf_starts_ci(e, len, b, "attr") || waf_starts_ci(e, len, b, "join") ||
                waf_starts_ci(e, len, b, "safe") || waf_starts_ci(e, len, b, "format"))
                return 1;
        }
        if (waf_is_alpha(c) && (i == 0 || !waf_is_word((unsigned char)e[i - 1]))) {
            size_t l = waf_word_len(e, len, i);
            if (i + l < len && (e[i + l] == '.' || e[i + l] == '[') &&
                waf_in_list_ci(e + i, l, sandbox_objects))
                return 1;
            i += l ? l - 1 : 0;
        }
    }
    return 0;
}

/* Find the closing delimiter close (2 bytes or 1) within MAX_EXPR bytes of from. */
static size_t find_close(const char *s, size_t n, size_t from, const char *close)
{
    size_t cl = strlen(close);
    size_t lim = from + MAX_EXPR < n ? from + MAX_EXPR : n;
    for (size_t i = from; i + cl <= lim; i++)
        if (memcmp(s + i, close, cl) == 0) return i;
    return (size_t)-1;
}

static const char *const directives[] = {
    "<#assign",   "<#if",      "<#list",  "#set(",    "#foreach(",
    "#evaluate(", "#include(", "#parse(", "<#import", NULL};

int waf_detect_ssti(const char *s, size_t n, enum waf_place place, struct waf_hit *hit)
{
    (void)place;
    if (!s || n < 4) return 0;
    for (size_t i = 0; i + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i], d = (unsigned char)s[i + 1];
        if (c == '{' && (d == '{' || d == '%')) {
            size_t e = find_close(s, n, i + 2, d == '{' ? "}}" : "%}");
            if (e == (size_t)-1) continue;
            /* {% import / set / exec ... %}: statements that run code */
            static const char *const stmts[] = {
                "import", "include", "set",  "print",   "exec", "macro", "from",
                "load",   "debug",   "call", "extends", "for",  NULL};
            size_t k = waf_skip_space(s, e, i + 2);
            size_t l = waf_word_len(s, e, k);
            int dir = d == '%' && l && waf_in_list_ci(s + k, l, stmts);
            if (dir || (d == '{' && is_expression(s + i + 2, e - i - 2)))
                return waf_hit_set(hit, 934500, WAF_SSTI, 5, "template expression", i,
                                   e + 2 - i);
        } else if ((c == '$' || c == '#' || c == '*') && d == '{') {
            size_t e = find_close(s, n, i + 2, "}");
            if (e == (size_t)-1) continue;
            if (is_expression(s + i + 2, e - i - 2))
                return waf_hit_set(hit, 934510, WAF_SSTI, 5, "expression language", i,
                                   e + 1 - i);
        } else if (c == '<' && d == '%') {
            size_t e = find_close(s, n, i + 2, "%>");
            if (e == (size_t)-1) continue;
            size_t k = waf_skip_space(s, e, i + 2);
            if (k < e)
                return waf_hit_set(hit, 934520, WAF_SSTI, 5, "template code block", i,
                                   e + 2 - i);
        } else if (c == '<' || c == '#') {
            for (const char *const *t = directives; *t; t++)
                if ((unsigned char)(*t)[0] == c && waf_starts_ci(s, n, i, *t))
                    return waf_hit_set(hit, 934530, WAF_SSTI, 5, "template directive", i,
                                       strlen(*t));
        }
    }
    return 0;
}
