/*
 * plugins/waf/xss.c — cross-site scripting detector.
 *
 * A value is reflected somewhere in a page; we do not know where, so it is
 * read the way an HTML parser would read it in each place it could land:
 *
 *   - in text (the "data state"): a '<' followed by a letter opens a tag. Tags
 *     that run or load code by themselves (script, iframe, object, embed,
 *     base, meta, link, style, svg, ...), any tag with an on* event-handler
 *     attribute, any attribute whose value is a javascript:/vbscript:/
 *     data:text/html URL or CSS with expression()/behavior/-moz-binding,
 *     closing tags that leave a raw-text element (</script>, </title>);
 *   - inside an attribute value: a quote that closes it followed by a new
 *     on*= attribute (" onmouseover=alert(1) x=");
 *   - as a URL attribute (href=VALUE): the value itself is a script URL,
 *     also when the scheme is split by whitespace, control characters or
 *     character references (java&#x09;script:);
 *   - inside a script or template: a call of a JavaScript sink right after a
 *     quote or operator ('-alert(1)//, ";alert(1)//), and AngularJS/Vue
 *     sandbox escapes ({{constructor.constructor('...')()}}).
 *
 * Ordinary text with '<' stays benign: "a < b" and "<3" never open a tag,
 * "<user@example.com>" opens one with nothing dangerous in it, and plain
 * formatting HTML (<b>, <a href="https://...">) has no code in it.
 *
 * Input: the engine hands us values with URL encoding and HTML character
 * references decoded. We still tolerate raw references inside a URL scheme
 * (java&#x09;script&colon;) since that is cheap and a known evasion.
 */
#include "detect.h"
#include "detect_util.h"

#include <string.h>

struct xrule {
    unsigned id;
    const char *reason;
};

static const struct xrule X_TAG = {941100, "XSS: script-capable HTML tag"};
static const struct xrule X_HANDLER = {941110, "XSS: event handler attribute"};
static const struct xrule X_URL = {941120, "XSS: javascript:/vbscript:/data: URL"};
static const struct xrule X_CSS = {941130, "XSS: script in CSS (expression, binding)"};
static const struct xrule X_BREAKOUT = {941140,
                                        "XSS: attribute breakout with event handler"};
static const struct xrule X_CLOSE = {941150,
                                     "XSS: closing tag leaves a raw-text element"};
static const struct xrule X_SINK = {941160, "XSS: JavaScript sink call"};
static const struct xrule X_TEMPLATE = {941170, "XSS: template sandbox escape"};
static const struct xrule X_UTF7 = {941180, "XSS: UTF-7 encoded tag"};
static const struct xrule X_ATTR = {941190,
                                    "XSS: attribute that embeds markup or script"};

struct xfind {
    const struct xrule *rule;
    size_t at, len;
};

/* ---- small helpers ----------------------------------------------------- */

static unsigned char lc(unsigned char c)
{
    return waf_lc(c); /* a table load */
}

static int is_alpha(unsigned char c)
{
    return waf_is_alpha(c);
}

static int is_alnum(unsigned char c)
{
    return waf_is_alnum(c);
}

/* HTML whitespace, plus the control bytes browsers have been seen to skip. */
static int is_ws(unsigned char c)
{
    return c <= 0x20;
}

/* Case-insensitive: s[0..n) begins with lower-case word w. */
static int starts(const unsigned char *s, size_t n, const char *w)
{
    size_t i = 0;
    for (; w[i]; i++)
        if (i >= n || lc(s[i]) != (unsigned char)w[i]) return 0;
    return 1;
}

/* Case-insensitive word equality (name of length n against w). */
static int name_is(const unsigned char *s, size_t n, const char *w)
{
    if (n == 0) return w[0] == '\0';
    /* the first byte before strlen(): most names of a list differ there */
    return lc(s[0]) == (unsigned char)w[0] && strlen(w) == n && starts(s, n, w);
}

static int name_in(const unsigned char *s, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (name_is(s, n, *list)) return 1;
    return 0;
}

static void found(struct xfind *f, const struct xrule *r, size_t at, size_t len)
{
    f->rule = r;
    f->at = at;
    f->len = len;
}

/* ---- script URLs --------------------------------------------------------- */

/* Skips the noise a browser ignores inside a URL scheme: whitespace and
 * control bytes, and raw character references to them (&#9; &#x0A; &tab;
 * &newline;). Returns the index of the next meaningful byte. */
static size_t skip_scheme_noise(const unsigned char *s, size_t n, size_t i)
{
    while (i < n) {
        if (is_ws(s[i]) && s[i] != ' ') {
            i++;
            continue;
        }
        if (s[i] == '&' && i + 1 < n) {
            size_t j = i + 1;
            if (s[j] == '#') {
                j++;
                int hex = j < n && lc(s[j]) == 'x';
                if (hex) j++;
                size_t d = j;
                unsigned v = 0;
                while (j < n && j - d < 8 &&
                       (hex ? (is_alnum(s[j]) && (s[j] <= '9' || lc(s[j]) <= 'f'))
                            : (s[j] >= '0' && s[j] <= '9'))) {
                    unsigned c = lc(s[j]);
                    v = v * (hex ? 16 : 10) + (c <= '9' ? c - '0' : c - 'a' + 10);
                    j++;
                }
                if (j > d && v <= 0x20) {
                    i = (j < n && s[j] == ';') ? j + 1 : j;
                    continue;
                }
            } else if (starts(s + j, n - j, "tab;")) {
                i = j + 4;
                continue;
            } else if (starts(s + j, n - j, "newline;")) {
                i = j + 8;
                continue;
            }
        }
        break;
    }
    return i;
}

/* Matches word w at i allowing scheme noise between letters, then ':' (or
 * &colon; / &#58;). Returns the index after the colon, or 0. */
static size_t match_scheme(const unsigned char *s, size_t n, size_t i, const char *w)
{
    for (size_t k = 0; w[k]; k++) {
        if (k > 0) i = skip_scheme_noise(s, n, i);
        if (i >= n || lc(s[i]) != (unsigned char)w[k]) return 0;
        i++;
    }
    i = skip_scheme_noise(s, n, i);
    if (i < n && s[i] == ':') return i + 1;
    if (starts(s + i, n - i, "&colon;")) return i + 7;
    if (starts(s + i, n - i, "&#58;")) return i + 5;
    if (starts(s + i, n - i, "&#x3a;")) return i + 6;
    return 0;
}

/* What follows "javascript:" reads as code rather than as the title of a
 * book ("javascript: the good parts"). */
static int code_follows(const unsigned char *s, size_t n, size_t i)
{
    size_t end = n < i + 80 ? n : i + 80;
    while (i < end && s[i] == ' ')
        i++;
    if (i >= end) return 0;
    for (size_t k = i; k < end; k++) {
        unsigned char c = s[k];
        if (strchr("(`=[.;'\"{%/\\+", c)) return 1;
        if (c == ' ' && k > i && is_alnum(s[k - 1]) && k + 1 < end && is_alnum(s[k + 1]))
            return 0; /* two words in a row: prose */
    }
    return 0;
}

static const char *const data_mimes[] = {"text/html",
                                         "text/xml",
                                         "image/svg",
                                         "application/xhtml",
                                         "text/javascript",
                                         "application/javascript",
                                         "application/ecmascript",
                                         "text/vbscript",
                                         "application/x-",
                                         "text/xsl",
                                         NULL};

/* A script URL starting at i (the scheme's first letter)? Returns its end
 * (index after the colon) or 0. */
static size_t script_url(const unsigned char *s, size_t n, size_t i, int in_attr)
{
    unsigned char c = lc(s[i]);
    size_t e = 0;
    if (c == 'j')
        e = match_scheme(s, n, i, "javascript");
    else if (c == 'v')
        e = match_scheme(s, n, i, "vbscript");
    else if (c == 'l')
        e = match_scheme(s, n, i, "livescript");
    if (e) /* inside an attribute it is a URL for sure; in text, want code */
        return (in_attr || c != 'j' || code_follows(s, n, e)) ? e : 0;
    if (c == 'd' && (e = match_scheme(s, n, i, "data")) != 0) {
        while (e < n && s[e] == ' ')
            e++;
        for (const char *const *m = data_mimes; *m; m++)
            if (starts(s + e, n - e, *m)) return e;
    }
    return 0;
}

/* ---- CSS ------------------------------------------------------------------ */

/* Script inside CSS text s[0..n): expression(), behavior:, -moz-binding,
 * url(javascript:). CSS comments and backslashes may split the words. */
/* A necessary condition for css_script(), on the raw text: each of its
 * patterns has a '(' after 'n' or 'l' (expression(, url(), a ':' after 'r' or
 * 'k' (behavior:, behaviour:, -o-link:) or a '-' before 'm' (-moz-binding),
 * with only blanks and backslashes between; a '/' there may close or open a
 * comment, which css_script() drops, so it counts too. */
static int css_maybe(const unsigned char *s, size_t n)
{
    static const unsigned char looked[256] = {['('] = 1, [':'] = 1, ['-'] = 1};
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (!looked[c]) continue;
        if (c == '(' || c == ':') {
            size_t j = i;
            while (j > 0 && (is_ws(s[j - 1]) || s[j - 1] == '\\'))
                j--;
            if (j == 0) continue;
            unsigned char p = lc(s[j - 1]);
            if (p == '/' || (c == '(' ? (p == 'n' || p == 'l') : (p == 'r' || p == 'k')))
                return 1;
        } else if (c == '-') {
            size_t j = i + 1;
            while (j < n && (is_ws(s[j]) || s[j] == '\\'))
                j++;
            if (j < n && (lc(s[j]) == 'm' || s[j] == '/')) return 1;
        }
    }
    return 0;
}

static int css_script(const unsigned char *s, size_t n)
{
    if (!css_maybe(s, n)) return 0;
    char buf[256];
    size_t m = 0;
    for (size_t i = 0; i < n && m < sizeof buf - 1; i++) {
        if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
            size_t j = i + 2;
            while (j + 1 < n && !(s[j] == '*' && s[j + 1] == '/'))
                j++;
            i = j + 1;
            continue;
        }
        if (s[i] == '\\' || is_ws(s[i])) continue;
        buf[m++] = (char)lc(s[i]);
    }
    buf[m] = 0;
    const unsigned char *b = (const unsigned char *)buf;
    for (size_t i = 0; i < m; i++) {
        if (starts(b + i, m - i, "expression(") || starts(b + i, m - i, "behavior:") ||
            starts(b + i, m - i, "behaviour:") || starts(b + i, m - i, "-moz-binding") ||
            starts(b + i, m - i, "-o-link:"))
            return 1;
        if (starts(b + i, m - i, "url(")) {
            size_t j = i + 4;
            if (j < m && (b[j] == '"' || b[j] == '\'')) j++;
            if (j < m && script_url(b, m, j, 1)) return 1;
        }
    }
    return 0;
}

/* ---- tags ------------------------------------------------------------------ */

/* Elements that run or load code, or take over the page, by being there. */
static const char *const code_tags[] = {
    "script",  "iframe", "frame",  "frameset", "object", "embed", "applet",
    "base",    "meta",   "link",   "style",    "svg",    "xml",   "import",
    "isindex", "layer",  "ilayer", "bgsound",  "portal", "xss",   NULL};

/* Raw-text elements: their closing tag lets markup start again. */
static const char *const rawtext_tags[] = {
    "script", "style",   "title",    "textarea",  "xmp",      "noscript",
    "iframe", "noembed", "noframes", "plaintext", "template", NULL};

/* Attribute names that are event handlers: "on" + letters. */
static int is_handler(const unsigned char *s, size_t n)
{
    if (n < 5 || lc(s[0]) != 'o' || lc(s[1]) != 'n') return 0;
    for (size_t i = 2; i < n; i++)
        if (!is_alpha(s[i])) return 0;
    return 1;
}

/* One attribute's verdict inside tag `tag`. */
static const struct xrule *attr_verdict(const unsigned char *tag, size_t tl,
                                        const unsigned char *name, size_t nl,
                                        const unsigned char *val, size_t vl)
{
    if (is_handler(name, nl)) return &X_HANDLER;
    /* Any attribute holding a script URL: href, src, action, formaction,
     * background, data, xlink:href, to/values (SVG animation) ... */
    size_t v = 0;
    while (v < vl && is_ws(val[v]))
        v++;
    if (v < vl && script_url(val, vl, v, 1)) return &X_URL;
    if (name_is(name, nl, "style") && css_script(val, vl)) return &X_CSS;
    if (name_is(name, nl, "srcdoc") && memchr(val, '<', vl)) return &X_ATTR;
    for (size_t k = 0; k + 1 < vl; k++)
        if (val[k] == '&' && val[k + 1] == '{')
            return &X_ATTR; /* Netscape JavaScript entity &{...} */
    /* SVG <set attributeName="onmouseover" to=...> / <animate ... href> */
    if (name_is(name, nl, "attributename") &&
        (is_handler(val, vl) || name_is(val, vl, "href") ||
         name_is(val, vl, "xlink:href")))
        return &X_ATTR;
    (void)tag;
    (void)tl;
    return NULL;
}

/* Parses the tag whose name starts at i (after '<'). Returns the index where
 * scanning resumes; fills f on an attack. */
static size_t scan_tag(const unsigned char *s, size_t n, size_t lt, size_t i,
                       struct xfind *f)
{
    size_t name = i;
    while (i < n && !is_ws(s[i]) && s[i] != '/' && s[i] != '>')
        i++;
    size_t nl = i - name;
    /* x:script, svg:script — a namespace prefix does not change the element. */
    const unsigned char *local = s + name;
    size_t ll = nl;
    for (size_t k = 0; k < nl; k++)
        if (s[name + k] == ':') {
            local = s + name + k + 1;
            ll = nl - k - 1;
        }
    if (name_in(local, ll, code_tags)) {
        found(f, &X_TAG, lt, i - lt);
        return n;
    }
    /* Attributes: name[=value], separated by whitespace or '/'. */
    for (int guard = 0; i < n && guard < 256; guard++) {
        while (i < n && (is_ws(s[i]) || s[i] == '/'))
            i++;
        if (i >= n || s[i] == '>') return i;
        if (s[i] == '<') return i; /* a new tag starts: the browser would not, we do */
        size_t an = i;
        i++; /* an attribute name may start with '=' or a quote */
        while (i < n && !is_ws(s[i]) && s[i] != '/' && s[i] != '>' && s[i] != '=')
            i++;
        size_t al = i - an;
        size_t k = i;
        while (k < n && is_ws(s[k]))
            k++;
        const unsigned char *val = s + k;
        size_t vl = 0;
        if (k < n && s[k] == '=') {
            k++;
            while (k < n && is_ws(s[k]))
                k++;
            if (k < n && (s[k] == '"' || s[k] == '\'' || s[k] == '`')) {
                unsigned char q = s[k];
                const unsigned char *e = memchr(s + k + 1, q, n - k - 1);
                val = s + k + 1;
                vl = e ? (size_t)(e - val) : n - k - 1;
                k = e ? (size_t)(e - s) + 1 : n;
            } else {
                val = s + k;
                while (k < n && !is_ws(s[k]) && s[k] != '>')
                    k++;
                vl = (size_t)(s + k - val);
            }
            i = k;
        }
        const struct xrule *r = attr_verdict(local, ll, s + an, al, val, vl);
        if (r) {
            found(f, r, lt, (i < n ? i : n) - lt);
            return n;
        }
    }
    return i;
}

/* Characters some charsets or back ends turn into '<': 0xBC (US-ASCII pages
 * drop the top bit) and U+FF1C FULLWIDTH LESS-THAN (NFKC normalisation).
 * Only a code tag behind one counts. */
static int scan_lookalike(const unsigned char *s, size_t n, struct xfind *f)
{
    for (size_t i = 0; i < n; i++) {
        size_t k;
        if (s[i] == 0xBC && (i == 0 || s[i - 1] < 0xC2 || s[i - 1] > 0xF4))
            k = i + 1;
        else if (s[i] == 0xEF && i + 2 < n && s[i + 1] == 0xBC && s[i + 2] == 0x9C)
            k = i + 3;
        else
            continue;
        size_t e = k;
        while (e < n && is_alpha(s[e]))
            e++;
        if (name_in(s + k, e - k, code_tags)) {
            found(f, &X_TAG, i, e - i);
            return 1;
        }
    }
    return 0;
}

/* The data-state view: every '<' that opens a tag, comment or closing tag. */
static int scan_markup(const unsigned char *s, size_t n, struct xfind *f)
{
    for (size_t i = 0; i < n;) {
        const unsigned char *lt = memchr(s + i, '<', n - i);
        if (!lt) return 0;
        i = (size_t)(lt - s) + 1;
        if (i >= n) return 0;
        if (s[i] == '/' && i + 1 < n && is_alpha(s[i + 1])) {
            size_t a = i + 1, b = a;
            while (b < n && is_alnum(s[b]))
                b++;
            if (name_in(s + a, b - a, rawtext_tags)) {
                found(f, &X_CLOSE, i - 1, b - i + 1);
                return 1;
            }
            continue;
        }
        if (s[i] == '?' && starts(s + i + 1, n - i - 1, "import")) {
            found(f, &X_TAG, i - 1, 8);
            return 1;
        }
        if (!is_alpha(s[i])) continue; /* "a < b", "<3", "<!--", "<<" */
        i = scan_tag(s, n, i - 1, i, f);
        if (f->rule) return 1;
    }
    return 0;
}

/* ---- attribute breakout ------------------------------------------------- */

/* Reads as JavaScript: an identifier or expression opener right at the
 * start of a handler's value ("alert(1)", "(prompt)(1)", "{window.x=y}"). */
static int js_value(const unsigned char *s, size_t n, size_t i)
{
    while (i < n && is_ws(s[i]))
        i++;
    if (i < n && (s[i] == '"' || s[i] == '\'')) i++;
    if (i >= n) return 0;
    if (strchr("([{!~+-`/", s[i])) return 1;
    size_t j = i;
    while (j < n && (is_alnum(s[j]) || s[j] == '_' || s[j] == '$' || s[j] == '.'))
        j++;
    return j > i && j < n && strchr("(`=[;", s[j]);
}

/* " onmouseover=alert(1)   ' autofocus onfocus='x'   x/onerror=... : a
 * quote, whitespace or slash, then an on* name and '='. */
static int scan_breakout(const unsigned char *s, size_t n, struct xfind *f)
{
    int quoted = 0; /* a quote came before: we may have left an attribute */
    for (size_t i = 0; i + 5 < n; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\'' || c == '`') quoted = 1;
        if (!(c == '"' || c == '\'' || c == '`' || c == '/' || is_ws(c))) continue;
        size_t a = i + 1;
        if (lc(s[a]) != 'o' || lc(s[a + 1]) != 'n') continue;
        size_t b = a + 2;
        while (b < n && is_alpha(s[b]))
            b++;
        if (b - a < 5) continue;
        size_t e = b;
        while (e < n && is_ws(s[e]))
            e++;
        if (e >= n || s[e] != '=') continue;
        if (quoted || js_value(s, n, e + 1)) {
            found(f, &X_BREAKOUT, i, e + 1 - i);
            return 1;
        }
    }
    return 0;
}

/* ---- URL and CSS contexts ---------------------------------------------- */

/* A script URL where a URL can start: the value's beginning, or after a
 * quote, '=', '(' or whitespace (href=javascript:..., url(javascript:...)). */
static int scan_urls(const unsigned char *s, size_t n, struct xfind *f)
{
    /* the first letters of javascript: vbscript: livescript: data: */
    static const unsigned char first[256] = {['j'] = 1, ['v'] = 1, ['l'] = 1, ['d'] = 1,
                                             ['J'] = 1, ['V'] = 1, ['L'] = 1, ['D'] = 1};
    for (size_t i = 0; i < n; i++) {
        if (!first[s[i]]) continue;
        if (i > 0) {
            unsigned char p = s[i - 1];
            if (!(is_ws(p) || p == '"' || p == '\'' || p == '`' || p == '=' || p == '(' ||
                  p == ':' || p == '>'))
                continue;
        }
        size_t e = script_url(s, n, i, 0);
        if (e) {
            found(f, &X_URL, i, e - i);
            return 1;
        }
    }
    return 0;
}

/* CSS outside a tag (a style attribute's value, a style sheet): a property
 * whose value is expression(...) or a binding. */
static int scan_css(const unsigned char *s, size_t n, struct xfind *f)
{
    const unsigned char *colon = memchr(s, ':', n);
    /* css_maybe() of the whole covers its suffix from the colon too */
    if (!colon || !css_maybe(s, n)) return 0;
    size_t i = (size_t)(colon - s);
    if (css_script(s + i, n - i) || css_script(s, n)) {
        found(f, &X_CSS, i, n - i);
        return 1;
    }
    return 0;
}

/* ---- script and template contexts ----------------------------------------- */

static const char *const sinks[] = {"alert",      "prompt",       "confirm",
                                    "eval",       "settimeout",   "setinterval",
                                    "execscript", "fromcharcode", NULL};

/* A sink called as code: alert(1), alert`1`, (alert)(1), [1].some(confirm),
 * where the name follows the start, a quote, an operator or punctuation —
 * not a word ("please confirm (yes)"). */
static int scan_sinks(const unsigned char *s, size_t n, struct xfind *f)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_alpha(s[i]) || (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '_')))
            continue;
        static const unsigned char sink_first[256] = {
            ['a'] = 1, ['p'] = 1, ['c'] = 1, ['e'] = 1, ['s'] = 1, ['f'] = 1,
            ['A'] = 1, ['P'] = 1, ['C'] = 1, ['E'] = 1, ['S'] = 1, ['F'] = 1};
        if (!sink_first[s[i]]) continue; /* first letters of the sink names */
        size_t j = i;
        while (j < n && is_alpha(s[j]))
            j++;
        if (!name_in(s + i, j - i, sinks)) {
            i = j;
            continue;
        }
        /* what precedes (skipping spaces) */
        size_t p = i;
        while (p > 0 && s[p - 1] == ' ')
            p--;
        int code_before =
            p == 0 || strchr("'\"`;,(){}[]=+-*|&!?:<>~^.", s[p - 1]) != NULL;
        if (p > 0 && s[p - 1] == '.' && !name_is(s + i, j - i, "fromcharcode"))
            code_before = 1;
        size_t k = j;
        while (k < n && s[k] == ')')
            k++;
        int call = k < n && (s[k] == '(' || s[k] == '`');
        int callback = p > 0 && s[p - 1] == '(' && j < n && s[j] == ')';
        if (code_before && (call || callback) && j - i >= 4) {
            found(f, &X_SINK, i, k - i);
            return 1;
        }
        i = j;
    }
    return 0;
}

/* document.cookie, window.location, (document)["cookie"]: reading or
 * steering the page from injected script. Only DOM members that matter to
 * an attacker count, so "document.pdf" stays a file name. */
static const char *const dom_members[] = {
    "cookie",         "domain",    "location",      "write",
    "writeln",        "body",      "createelement", "queryselector",
    "getelementbyid", "forms",     "referrer",      "open",
    "opener",         "innerhtml", "outerhtml",     "documentelement",
    "execcommand",    NULL};

static int scan_dom(const unsigned char *s, size_t n, struct xfind *f)
{
    for (size_t i = 0; i + 6 < n; i++) {
        size_t j;
        unsigned char c = lc(s[i]);
        if (c == 'd' && starts(s + i, n - i, "document"))
            j = i + 8;
        else if (c == 'w' && starts(s + i, n - i, "window"))
            j = i + 6;
        else
            continue;
        if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '_')) continue;
        while (j < n && (s[j] == ')' || s[j] == ' '))
            j++;
        if (j >= n || (s[j] != '.' && s[j] != '[')) continue;
        j++;
        while (j < n && (s[j] == ' ' || s[j] == '"' || s[j] == '\''))
            j++;
        size_t e = j;
        while (e < n && is_alpha(s[e]))
            e++;
        if (name_in(s + j, e - j, dom_members)) {
            found(f, &X_SINK, i, e - i);
            return 1;
        }
    }
    return 0;
}

/* {{constructor.constructor('alert(1)')()}}, {{$on.constructor(...)}}, Vue's
 * _c.constructor(...): reaching Function through .constructor. */
static int scan_template(const unsigned char *s, size_t n, struct xfind *f)
{
    for (size_t i = 0; i + 11 <= n; i++) {
        if ((s[i] | 0x20) != 'c' || !starts(s + i, n - i, "constructor")) continue;
        size_t j = i + 11;
        while (j < n && is_ws(s[j]))
            j++;
        int call = j < n && (s[j] == '(' || s[j] == '.' || s[j] == '`');
        int member = i > 0 && (s[i - 1] == '.' || s[i - 1] == '[' || s[i - 1] == '\'' ||
                               s[i - 1] == '"' || s[i - 1] == '{');
        if (call && member) {
            found(f, &X_TEMPLATE, i, j - i);
            return 1;
        }
    }
    return 0;
}

/* +ADw-script: '<' in UTF-7, for pages a charset trick turns to UTF-7. */
static int scan_utf7(const unsigned char *s, size_t n, struct xfind *f)
{
    /* from each '-' (rarer than 'A'), a match needs "ADw" before it and two
     * bytes after */
    for (const unsigned char *d = n >= 6 ? memchr(s + 3, '-', n - 5) : NULL; d;
         d = d + 1 < s + n - 2 ? memchr(d + 1, '-', (size_t)(s + n - 2 - d - 1)) : NULL) {
        size_t i = (size_t)(d - s) - 3;
        if (s[i] == 'A' && s[i + 1] == 'D' && s[i + 2] == 'w' && is_alpha(s[i + 4]) &&
            (i == 0 || s[i - 1] == '+' || s[i - 1] == ' ')) {
            found(f, &X_UTF7, i, 4);
            return 1;
        }
    }
    return 0;
}

/* ---- entry ------------------------------------------------------------------ */

/* Bytes without which none of the views can find anything, by the views
 * they open (the bits of waf_detect_xss()'s `seen`). */
static const unsigned char xss_bytes[256] = {
    ['<'] = 1,  ['='] = 2,  [':'] = 4,  ['('] = 8,   ['`'] = 8,
    ['-'] = 16, ['.'] = 32, ['['] = 32, [0xBC] = 64,
};

static int maybe_xss(const unsigned char *s, size_t n, unsigned *seen)
{
    *seen = waf_classes(xss_bytes, (const char *)s, n);
    return *seen != 0;
}

int waf_detect_xss(const char *str, size_t n, enum waf_place place, struct waf_hit *hit)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned seen;
    struct xfind f = {0};
    (void)place;
    if (n == 0 || !maybe_xss(s, n, &seen)) return 0;
    int r =
        ((seen & 1) && scan_markup(s, n, &f)) ||
        ((seen & 2) && scan_breakout(s, n, &f)) || ((seen & 4) && scan_urls(s, n, &f)) ||
        ((seen & 4) && scan_css(s, n, &f)) || ((seen & 8) && scan_sinks(s, n, &f)) ||
        ((seen & 8) && scan_template(s, n, &f)) || ((seen & 16) && scan_utf7(s, n, &f)) ||
        ((seen & 32) && scan_dom(s, n, &f)) || ((seen & 64) && scan_lookalike(s, n, &f));
    if (!r) return 0;
    if (hit) {
        hit->rule = f.rule->id;
        hit->cls = WAF_XSS;
        hit->score = 5;
        hit->reason = f.rule->reason;
        hit->at = f.at;
        hit->len = f.len;
    }
    return 1;
}
