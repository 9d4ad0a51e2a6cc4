/*
 * plugins/waf/misc.c — header injection (CRLF), SSI, XXE, mail command
 * injection, session fixation, scanner signatures, protocol anomalies and
 * the class names. See misc.h and detect.h.
 */
#include "misc.h"

#include "detect_util.h"

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static unsigned char lower(unsigned char c)
{
    return waf_lc(c); /* a table load */
}

/* s[i..] starts with lit (lower-case), ignoring case. */
static int ci_at(const char *s, size_t n, size_t i, const char *lit)
{
    for (size_t k = 0; lit[k]; k++)
        if (i + k >= n || lower((unsigned char)s[i + k]) != (unsigned char)lit[k])
            return 0;
    return 1;
}

/* First offset >= from of lit (lower-case) in s, ignoring case; n if none. */
static size_t ci_find(const char *s, size_t n, size_t from, const char *lit)
{
    size_t l = strlen(lit);
    if (l == 0 || n < l || from > n - l) return n;
    /* a byte of lit that is no letter has one case: memchr finds where it
     * can sit ('.' of ".cookie", '-' of "http-equiv") */
    size_t k = 0;
    while (k < l && (unsigned char)((lit[k] | 0x20) - 'a') < 26)
        k++;
    if (k < l) {
        const char *end = s + (n - l) + k + 1; /* lit[k] of the last start */
        for (const char *p = memchr(s + from + k, lit[k], (size_t)(end - (s + from + k)));
             p; p = p + 1 < end ? memchr(p + 1, lit[k], (size_t)(end - p - 1)) : NULL)
            if (ci_at(s, n, (size_t)(p - s) - k, lit)) return (size_t)(p - s) - k;
        return n;
    }
    unsigned char a = (unsigned char)lit[0];
    unsigned char b = (a >= 'a' && a <= 'z') ? (unsigned char)(a - 32) : a;
    for (size_t i = from; i + l <= n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c == a || c == b) && ci_at(s, n, i, lit)) return i;
    }
    return n;
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_word(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '_';
}

static int fill(struct waf_hit *hit, unsigned rule, enum waf_class cls, int score,
                const char *reason, size_t at, size_t len)
{
    if (hit) {
        hit->rule = rule;
        hit->cls = cls;
        hit->score = score;
        hit->reason = reason;
        hit->at = at;
        hit->len = len;
    }
    return 1;
}

const char *waf_class_name(enum waf_class c)
{
    static const char *const names[WAF_CLASS_COUNT] = {
        [WAF_SQLI] = "sqli",
        [WAF_XSS] = "xss",
        [WAF_LFI] = "lfi",
        [WAF_RFI] = "rfi",
        [WAF_RCE] = "rce",
        [WAF_PHP] = "php",
        [WAF_JAVA] = "java",
        [WAF_NODE] = "node",
        [WAF_SSTI] = "ssti",
        [WAF_LDAP] = "ldap",
        [WAF_NOSQL] = "nosql",
        [WAF_CRLF] = "crlf",
        [WAF_PROTOCOL] = "protocol",
        [WAF_SCANNER] = "scanner",
        [WAF_SESSION] = "session-fixation",
        [WAF_XXE] = "xxe",
        [WAF_SSI] = "ssi",
        [WAF_MAIL] = "mail",
        [WAF_GENERIC] = "generic",
    };
    return (unsigned)c < WAF_CLASS_COUNT ? names[c] : "unknown";
}

/* ---- line breaks -------------------------------------------------------- */

/* Length of a line break at s[i]: CR or LF, a "%0d"/"%0a" left over from
 * double encoding, or a UTF-8 character whose low byte is CR or LF (U+560A,
 * U+560D ...: servers that truncate code points to bytes turn them into
 * line breaks). 0 when none. */
static size_t line_break(const char *s, size_t n, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    if (c == '\r' || c == '\n') return 1;
    if (c == '%' && i + 2 < n && s[i + 1] == '0') {
        unsigned char d = lower((unsigned char)s[i + 2]);
        return (d == 'a' || d == 'd') ? 3 : 0;
    }
    if (c >= 0xC4 && c < 0xF5) { /* a multi-byte char above U+00FF */
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (i + len > n) return 0;
        for (size_t k = 1; k < len; k++)
            if (((unsigned char)s[i + k] & 0xC0) != 0x80) return 0;
        unsigned char last = (unsigned char)s[i + len - 1];
        unsigned char prev = (unsigned char)s[i + len - 2];
        unsigned low = ((prev & 0x03u) << 6) | (last & 0x3Fu);
        return (low == 0x0A || low == 0x0D) ? len : 0;
    }
    return 0;
}

/* Skips further breaks and blanks after a break. */
static size_t skip_breaks(const char *s, size_t n, size_t i)
{
    while (i < n) {
        size_t b = line_break(s, n, i);
        if (b) {
            i += b;
        } else if (s[i] == ' ' || s[i] == '\t') {
            i++;
        } else {
            break;
        }
    }
    return i;
}

/* A header field name at s[i] followed by optional blanks and ':'; returns
 * the name length (0 if none). */
static size_t header_name(const char *s, size_t n, size_t i)
{
    size_t k = i;
    while (k < n && k - i < 48 &&
           (is_alpha((unsigned char)s[k]) || is_digit((unsigned char)s[k]) ||
            s[k] == '-' || s[k] == '_'))
        k++;
    size_t l = k - i;
    if (l == 0) return 0;
    while (k < n && (s[k] == ' ' || s[k] == '\t'))
        k++;
    if (k < n && s[k] == ':') return l;
    if (k + 2 < n && s[k] == '%' && s[k + 1] == '3' &&
        lower((unsigned char)s[k + 2]) == 'a')
        return l;
    return 0;
}

/* HTTP header names whose injection changes what a client or an upstream
 * does (response splitting, cookie setting, redirection, smuggling, identity
 * spoofing). Kept to names that prose does not start a line with: "Status:",
 * "Date:" or "Link:" in a text area are not attacks. */
static int known_header(const char *s, size_t l)
{
    static const char *const names[] = {
        "set-cookie",
        "cookie",
        "location",
        "refresh",
        "content-type",
        "content-length",
        "content-disposition",
        "content-security-policy",
        "transfer-encoding",
        "host",
        "connection",
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "via",
        "strict-transport-security",
        "www-authenticate",
        "proxy-authorization",
        "authorization",
        "keep-alive",
        "upgrade",
        "x-xss-protection",
        "x-frame-options",
        "x-real-ip",
        "x-host",
        "x-http-method-override",
        "x-original-url",
        "x-rewrite-url",
        "x-originating-ip",
    };
    /* families: x-forwarded-for/-host/-proto, x-remote-ip/-addr */
    if (l > 12 && ci_at(s, l, 0, "x-forwarded-")) return 1;
    if (l > 9 && ci_at(s, l, 0, "x-remote-")) return 1;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strlen(names[k]) == l && ci_at(s, l, 0, names[k])) return 1;
    return 0;
}

/* "METHOD target HTTP/d" at s[i]: a request smuggled inside a value. */
static int request_line(const char *s, size_t n, size_t i)
{
    static const char *const methods[] = {"GET ",   "POST ",    "PUT ",
                                          "HEAD ",  "DELETE ",  "OPTIONS ",
                                          "TRACE ", "CONNECT ", "PATCH "};
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        size_t ml = strlen(methods[m]);
        if (n - i < ml || memcmp(s + i, methods[m], ml) != 0) continue;
        size_t k = i + ml;
        size_t t = k;
        while (k < n && s[k] != ' ' && s[k] != '\r' && s[k] != '\n')
            k++;
        if (k == t || k >= n || s[k] != ' ') return 0;
        k++;
        return n - k >= 6 && memcmp(s + k, "HTTP/", 5) == 0 &&
               is_digit((unsigned char)s[k + 5]);
    }
    return 0;
}

int waf_detect_crlf(const char *s, size_t n, enum waf_place place, struct waf_hit *hit)
{
    if (n >= 14 && request_line(s, n, 0))
        return fill(hit, 921130, WAF_CRLF, 5, "HTTP request line inside a value", 0,
                    n < 64 ? n : 64);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != '\r' && c != '\n' && c != '%' && c < 0xC4) continue; /* fast path */
        size_t b = line_break(s, n, i);
        if (b == 0) continue;
        int raw = b == 1;
        size_t j = skip_breaks(s, n, i + b);
        if (j >= n) return 0; /* a trailing newline (a body saved from an editor) */
        if (raw && (place == WAF_PLACE_ARG_NAME || place == WAF_PLACE_HEADER))
            return fill(hit, 921150, WAF_CRLF, 5,
                        "CR/LF inside a header or argument name", i, 1);
        size_t hl = header_name(s, n, j);
        if (hl &&
            (place != WAF_PLACE_ARG && place != WAF_PLACE_BODY ? 1
                                                               : known_header(s + j, hl)))
            return fill(hit, 921120, WAF_CRLF, 5,
                        "line break followed by a header (response splitting)", i,
                        j + hl + 1 - i);
        if (n - j >= 9 && memcmp(s + j, "HTTP/1.", 7) == 0 &&
            is_digit((unsigned char)s[j + 7]))
            return fill(hit, 921120, WAF_CRLF, 5, "line break followed by a status line",
                        i, j + 8 - i);
        if (n - j >= 14 && request_line(s, n, j))
            return fill(hit, 921130, WAF_CRLF, 5,
                        "line break followed by a request line (smuggling)", i,
                        j + 14 - i);
        i += b - 1;
    }
    return 0;
}

/* ---- SSI, XXE, mail, session fixation, out-of-band probes --------------- */

static int ssi(const char *s, size_t n, struct waf_hit *hit)
{
    static const char *const directives[] = {"exec", "include",  "echo",  "config",
                                             "set",  "printenv", "fsize", "flastmod",
                                             "if",   "elif"};
    size_t i = 0;
    while ((i = ci_find(s, n, i, "<!--#")) < n) {
        size_t k = i + 5;
        for (size_t d = 0; d < sizeof directives / sizeof directives[0]; d++) {
            size_t l = strlen(directives[d]);
            if (ci_at(s, n, k, directives[d]) &&
                (k + l >= n || !is_word((unsigned char)s[k + l])))
                return fill(hit, 960100, WAF_SSI, 5, "server-side include directive", i,
                            k + l - i);
        }
        i++;
    }
    return 0;
}

static int xxe(const char *s, size_t n, struct waf_hit *hit)
{
    size_t i = ci_find(s, n, 0, "<!entity");
    if (i < n) {
        size_t lim = n - i > 400 ? i + 400 : n;
        size_t k = i + 8;
        while (k < lim && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r' || s[k] == '\n'))
            k++;
        if (k < lim && s[k] == '%')
            return fill(hit, 960110, WAF_XXE, 5, "XML parameter entity declaration", i,
                        k + 1 - i);
        if (ci_find(s, lim, k, "system") < lim || ci_find(s, lim, k, "public") < lim)
            return fill(hit, 960110, WAF_XXE, 5, "XML external entity declaration", i, 8);
    }
    i = ci_find(s, n, 0, "<!doctype");
    if (i < n) {
        const char *gt = memchr(s + i, '>', n - i);
        size_t lim = gt ? (size_t)(gt - s) : n;
        if (ci_find(s, lim, i, "system") < lim)
            return fill(hit, 960111, WAF_XXE, 5, "XML document type with an external DTD",
                        i, 9);
    }
    /* XInclude and schema include/import pull external documents */
    i = 0;
    while (i < n) {
        const char *lt = memchr(s + i, '<', n - i);
        if (lt == NULL) break;
        size_t k = (size_t)(lt - s) + 1;
        size_t p = k;
        while (k < n && (is_word((unsigned char)s[k]) || s[k] == '-'))
            k++;
        if (k > p && k < n && s[k] == ':' &&
            ((ci_at(s, n, k + 1, "include") &&
              (k + 8 >= n || !is_word((unsigned char)s[k + 8]))) ||
             (ci_at(s, n, k + 1, "import") &&
              (k + 7 >= n || !is_word((unsigned char)s[k + 7])))))
            return fill(hit, 960112, WAF_XXE, 5, "XML include of an external document",
                        p - 1, k + 9 - p);
        i = (size_t)(lt - s) + 1;
    }
    return 0;
}

/* SMTP and IMAP commands on a new line, or mail headers with an address. */
/* An upper-case SMTP verb alone on its line start ("HELP", "DATA"): prose
 * does not shout these. */
static size_t smtp_verb(const char *s, size_t n, size_t j)
{
    static const char *const verbs[] = {"DATA", "QUIT", "HELP", "NOOP", "RSET",
                                        "TURN", "EXPN", "VRFY", "BDAT", "ETRN"};
    if (n - j < 4) return 0;
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++)
        if (memcmp(s + j, verbs[v], 4) == 0 &&
            (j + 4 == n || s[j + 4] == ' ' || line_break(s, n, j + 4)))
            return 4;
    return 0;
}

/* An IMAP command: a tag of letters then digits ("a001", "A1"), a blank and
 * a command word, in any case. */
static size_t imap_command(const char *s, size_t n, size_t j)
{
    static const char *const cmds[] = {
        "login",   "select", "fetch",    "store",        "capability", "logout",
        "examine", "uid",    "append",   "authenticate", "list",       "lsub",
        "status",  "create", "delete",   "rename",       "copy",       "expunge",
        "search",  "noop",   "starttls", "subscribe"};
    size_t t = j;
    while (t < n && t - j < 8 && is_alpha((unsigned char)s[t]))
        t++;
    size_t d = t;
    while (t < n && t - d < 8 && is_digit((unsigned char)s[t]))
        t++;
    if (d == j || t == d || t >= n || s[t] != ' ') return 0;
    t++;
    for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
        size_t l = strlen(cmds[c]);
        if (ci_at(s, n, t, cmds[c]) &&
            (t + l == n || s[t + l] == ' ' || line_break(s, n, t + l)))
            return t + l - j;
    }
    return 0;
}

/* SMTP and IMAP commands on a new line, or mail headers with an address. */
static int mail(const char *s, size_t n, struct waf_hit *hit)
{
    static const char *const smtp[] = {
        "rcpt to:",   "mail from:", "helo ",    "ehlo ",      "vrfy ",      "expn ",
        "auth login", "auth plain", "starttls", "send from:", "saml from:", "soml from:"};
    /* blind copies are what header injection adds; "To:"/"From:" lines are
     * common in pasted letters */
    static const char *const hdrs[] = {"bcc", "cc"};
    for (size_t i = 0; i < n; i++) {
        size_t b = line_break(s, n, i);
        if (b == 0 || b > 3) continue;
        size_t j = skip_breaks(s, n, i + b);
        if (j >= n) return 0;
        for (size_t c = 0; c < sizeof smtp / sizeof smtp[0]; c++)
            if (ci_at(s, n, j, smtp[c]))
                return fill(hit, 960120, WAF_MAIL, 5, "SMTP command after a line break",
                            i, j + strlen(smtp[c]) - i);
        size_t l = smtp_verb(s, n, j);
        if (l)
            return fill(hit, 960120, WAF_MAIL, 5, "SMTP command after a line break", i,
                        j + l - i);
        l = imap_command(s, n, j);
        if (l)
            return fill(hit, 960122, WAF_MAIL, 5, "IMAP command after a line break", i,
                        j + l - i);
        size_t hl = header_name(s, n, j);
        for (size_t h = 0; hl && h < sizeof hdrs / sizeof hdrs[0]; h++) {
            if (strlen(hdrs[h]) != hl || !ci_at(s, n, j, hdrs[h])) continue;
            size_t e = j + hl;
            while (e < n && !line_break(s, n, e))
                e++;
            if (memchr(s + j, '@', e - j))
                return fill(hit, 960121, WAF_MAIL, 5, "mail header injection", i, e - i);
        }
        i += b - 1;
    }
    return 0;
}

/* Setting a cookie from injected script or markup (CRS 943100). */
/* semi: s holds a ';' (else a '-'). */
static int session_set(const char *s, size_t n, int semi, struct waf_hit *hit)
{
    size_t i = 0;
    /* ".cookie" needs a ';' after it, "http-equiv" has its '-' */
    while (semi && (i = ci_find(s, n, i, ".cookie")) < n) {
        size_t k = i + 7;
        if (k < n && is_word((unsigned char)s[k])) {
            i++;
            continue;
        }
        const char *semi = memchr(s + k, ';', n - k);
        while (semi) {
            size_t j = (size_t)(semi - s) + 1;
            while (j < n && !is_word((unsigned char)s[j]))
                j++;
            if (ci_at(s, n, j, "expires") || ci_at(s, n, j, "domain") ||
                ci_at(s, n, j, "path") || ci_at(s, n, j, "max-age")) {
                size_t e = j;
                while (e < n && (is_word((unsigned char)s[e]) || s[e] == '-'))
                    e++;
                while (e < n && (s[e] == ' ' || s[e] == '"' || s[e] == '\''))
                    e++;
                if (e < n && s[e] == '=')
                    return fill(hit, 943100, WAF_SESSION, 5,
                                "cookie set with attributes from a parameter", i,
                                e + 1 - i);
            }
            semi = memchr(s + j, ';', n > j ? n - j : 0);
        }
        i++;
    }
    i = memchr(s, '-', n) ? ci_find(s, n, 0, "http-equiv") : n;
    if (i < n) {
        size_t k = i + 10;
        while (k < n && !is_word((unsigned char)s[k]) && k - i < 20)
            k++;
        if (ci_at(s, n, k, "set-cookie"))
            return fill(hit, 943100, WAF_SESSION, 5, "meta http-equiv set-cookie", i,
                        k + 10 - i);
    }
    return 0;
}

/* Out-of-band interaction domains of scanners (Burp Collaborator,
 * interactsh): a request that names one is a probe. */
static int oast(const char *s, size_t n, struct waf_hit *hit)
{
    static const char *const doms[] = {"burpcollaborator.net",
                                       "oastify.com",
                                       "oast.pro",
                                       "oast.live",
                                       "oast.site",
                                       "oast.online",
                                       "oast.fun",
                                       "oast.me",
                                       "interact.sh",
                                       "interactsh.com",
                                       "dnslog.cn",
                                       "ceye.io",
                                       "requestbin.net",
                                       "canarytokens.com"};
    const char *d = memchr(s, '.', n);
    while (d) {
        size_t i = (size_t)(d - s) + 1;
        unsigned char c = i < n ? lower((unsigned char)s[i]) : 0;
        if (c == 'b' || c == 'o' || c == 'i' || c == 'd' || c == 'c' || c == 'r')
            for (size_t k = 0; k < sizeof doms / sizeof doms[0]; k++)
                if ((unsigned char)doms[k][0] == c && ci_at(s, n, i, doms[k]))
                    return fill(hit, 913120, WAF_SCANNER, 5, "out-of-band probe domain",
                                i - 1, strlen(doms[k]) + 1);
        d = i < n ? memchr(s + i, '.', n - i) : NULL;
    }
    return 0;
}

/* The bytes each check needs, found in one pass (not a memchr each). */
enum { M_LT = 1, M_MAIL = 2, M_SEMI = 4, M_DASH = 8, M_DOT = 16 };
static const unsigned char misc_bytes[256] = {
    ['<'] = M_LT,    ['\n'] = M_MAIL, ['\r'] = M_MAIL, ['%'] = M_MAIL,
    [0xE5] = M_MAIL, [';'] = M_SEMI,  ['-'] = M_DASH,  ['.'] = M_DOT,
};

int waf_detect_misc(const char *s, size_t n, enum waf_place place, struct waf_hit *hit)
{
    (void)place;
    unsigned m = waf_classes(misc_bytes, s, n);
    if ((m & M_LT) && (ssi(s, n, hit) || xxe(s, n, hit))) return 1;
    if ((m & M_MAIL) && mail(s, n, hit)) return 1;
    if ((m & (M_SEMI | M_DASH)) && session_set(s, n, (m & M_SEMI) != 0, hit)) return 1;
    return (m & M_DOT) && oast(s, n, hit);
}

/* ---- protocol ----------------------------------------------------------- */

int waf_check_method(const char *m, size_t n, struct waf_hit *hit)
{
    if (n == 0 || n > 24)
        return fill(hit, WAF_RULE_METHOD, WAF_PROTOCOL, 5, "invalid method", 0, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)m[i];
        if (!is_alpha(c) && !(i > 0 && (c == '-' || c == '_')))
            return fill(hit, WAF_RULE_METHOD, WAF_PROTOCOL, 5,
                        "invalid character in the method", i, 1);
    }
    return 0;
}

/* Range: bytes=a-b, c-, -d; more than 5 ranges or bad syntax is abuse (the
 * Apache Killer sent hundreds of overlapping ranges). */
static int check_range(const char *v, size_t n, struct waf_hit *hit)
{
    size_t i = 0;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if (!ci_at(v, n, i, "bytes="))
        return fill(hit, 920190, WAF_PROTOCOL, 5, "Range with an unknown unit", 0, n);
    i += 6;
    int count = 0;
    for (;;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            i++;
        unsigned long a = 0, b = 0;
        size_t da = 0, db = 0;
        while (i < n && is_digit((unsigned char)v[i]) && da < 18)
            a = a * 10 + (unsigned long)(v[i++] - '0'), da++;
        if (i >= n || v[i] != '-')
            return fill(hit, 920190, WAF_PROTOCOL, 5, "invalid Range", 0, n);
        i++;
        while (i < n && is_digit((unsigned char)v[i]) && db < 18)
            b = b * 10 + (unsigned long)(v[i++] - '0'), db++;
        if ((da == 0 && db == 0) || (da && db && b < a))
            return fill(hit, 920190, WAF_PROTOCOL, 5, "invalid Range", 0, n);
        count++;
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            i++;
        if (i >= n) break;
        if (v[i] != ',') return fill(hit, 920190, WAF_PROTOCOL, 5, "invalid Range", 0, n);
        i++;
    }
    if (count > 5)
        return fill(hit, 920200, WAF_PROTOCOL, 5, "Range with too many ranges", 0, n);
    return 0;
}

static int tchar(unsigned char c)
{
    static const unsigned char tok[256] = {
        ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['!'] = 1,  ['#'] = 1,
        ['$'] = 1,         ['%'] = 1,         ['&'] = 1,         ['\''] = 1, ['*'] = 1,
        ['+'] = 1,         ['-'] = 1,         ['.'] = 1,         ['^'] = 1,  ['_'] = 1,
        ['`'] = 1,         ['|'] = 1,         ['~'] = 1};
    return tok[c];
}

/* media-type = type "/" subtype *( OWS ";" OWS name "=" ( token / quoted ) ) */
static int check_content_type(const char *v, size_t n, struct waf_hit *hit)
{
    size_t i = 0, t0;
    int multipart = ci_at(v, n, 0, "multipart/");
    for (t0 = i; i < n && tchar((unsigned char)v[i]); i++) {
    }
    if (i == t0 || i >= n || v[i] != '/') goto bad;
    for (t0 = ++i; i < n && tchar((unsigned char)v[i]); i++) {
    }
    if (i == t0) goto bad;
    for (;;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            i++;
        if (i >= n) return 0;
        if (v[i] != ';') goto bad;
        i++;
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            i++;
        if (i >= n) return 0; /* a trailing ';' is tolerated */
        size_t p0 = i;
        while (i < n && tchar((unsigned char)v[i]))
            i++;
        size_t pl = i - p0;
        if (i < n && v[i] == ' ') i++; /* "charset = x" is sloppy, not hostile */
        if (pl == 0 || i >= n || v[i] != '=') goto bad;
        i++;
        if (i < n && v[i] == ' ') i++;
        size_t v0 = i, vl;
        if (i < n && v[i] == '"') {
            i++;
            while (i < n && v[i] != '"')
                i += (v[i] == '\\' && i + 1 < n) ? 2 : 1;
            if (i >= n) goto bad;
            i++;
            vl = i - v0;
        } else {
            /* unquoted: a token in RFC 9110, but real boundaries carry more
             * ("----=_Part_0_1.2", "a:b"), so any visible byte but ';' '"' */
            while (i < n && (unsigned char)v[i] > 0x20 && (unsigned char)v[i] < 0x7F &&
                   v[i] != ';' && v[i] != '"')
                i++;
            vl = i - v0;
            if (vl == 0) goto bad;
        }
        if (pl == 7 && ci_at(v, n, p0, "charset") && !waf_charset_allowed(v + v0, vl))
            return fill(hit, 920480, WAF_PROTOCOL, 5,
                        "Content-Type with a disallowed charset", p0, pl + 1 + vl);
        if (pl == 8 && ci_at(v, n, p0, "boundary") && !multipart)
            return fill(hit, 921422, WAF_PROTOCOL, 5,
                        "boundary on a Content-Type that is not multipart", p0,
                        pl + 1 + vl);
    }
bad:
    return fill(hit, 920470, WAF_PROTOCOL, 5, "malformed Content-Type", 0, n);
}

/* Header name comparison; inline so that the literal's length folds. */
static inline int name_is(const char *name, size_t nl, const char *lit)
{
    return strlen(lit) == nl && ci_at(name, nl, 0, lit);
}

/* Tools that name themselves in their default User-Agent, sorted by first
 * letter; scanner_first[] gives where each letter's run starts (a test
 * checks every name is found). Matched at the start of a token. */
static const char *const scanner_tools[] = {
    "absinthe",
    "acunetix",
    "appscan",
    "arachni",
    "blackwidow",
    "brutus",
    "bsqlbf",
    "burpsuite",
    "censysinspect",
    "cgichk",
    "commix",
    "crimscanner",
    "dirb/",
    "dirbuster",
    "dotdotpwn",
    "feroxbuster",
    "ffuf",
    "fimap",
    "fuzz faster u fool",
    "gobuster",
    "grabber/",
    "grendel-scan",
    "havij",
    "httrack",
    "hydra",
    "jaeles",
    "jbrofuzz",
    "jorgee",
    "l9explore",
    "l9tcpid",
    "masscan",
    "metis",
    "morfeus",
    "mysqloit",
    "nessus",
    "netsparker",
    "nikto",
    "nmap nse",
    "nmap scripting",
    "nuclei",
    "openvas",
    "owasp zap",
    "pangolin",
    "paros/",
    "qualys",
    "sf/",
    "skipfish",
    "sqlmap",
    "struts-pwn",
    "teh forest lobster",
    "vega/",
    "w3af",
    "wapiti",
    "webinspect",
    "webshag",
    "whatweb",
    "wfuzz",
    "wpscan",
    "xsstrike",
    "zgrab",
    "zmeu",
};

static const unsigned char scanner_first[26] = {
    0,  4,  8,  12, 61, 15, 19, 22, 61, 25, 61, 28, 30,
    34, 40, 42, 44, 61, 45, 49, 61, 50, 51, 58, 61, 59,
};

/* Bytes after which a User-Agent token starts. */
static const unsigned char ua_sep[256] = {
    [' '] = 1, ['('] = 1, [';'] = 1, [','] = 1, ['+'] = 1, ['\t'] = 1,
};

/* Bit c1 of scanner_second[c - 'a']: a tool name starts with c, c1 (one
 * load rejects most tokens, "Mozilla", "Linux", before the name loop). */
static uint32_t scanner_second[26][4];

__attribute__((constructor)) static void scanner_second_init(void)
{
    for (size_t k = 0; k < sizeof scanner_tools / sizeof scanner_tools[0]; k++) {
        unsigned char c = (unsigned char)scanner_tools[k][0],
                      c1 = (unsigned char)scanner_tools[k][1];
        if (c >= 'a' && c <= 'z' && c1 < 128)
            scanner_second[c - 'a'][c1 >> 5] |= 1u << (c1 & 31);
    }
}

/* The tool name starting with c, c1 at token start i, if any (its index,
 * or -1). */
static int scanner_tool_at(const unsigned char *p, size_t vl, size_t i, unsigned char c,
                           unsigned char c1)
{
    const size_t nt = sizeof scanner_tools / sizeof scanner_tools[0];
    for (size_t k = scanner_first[c - 'a'];
         k < nt && (unsigned char)scanner_tools[k][0] == c; k++)
        if ((unsigned char)scanner_tools[k][1] == c1 &&
            ci_at((const char *)p, vl, i, scanner_tools[k]))
            return (int)k;
    return -1;
}

/* The same for any token start i: inline, as most tokens fail on their first
 * two letters. */
static inline int scanner_at(const unsigned char *p, size_t vl, size_t i)
{
    if (i + 2 >= vl) return -1;
    unsigned char c = lower(p[i]);
    if (c < 'a' || c > 'z') return -1;
    unsigned char c1 = lower(p[i + 1]);
    if (c1 >= 128 || !(scanner_second[c - 'a'][c1 >> 5] >> (c1 & 31) & 1)) return -1;
    return scanner_tool_at(p, vl, i, c, c1);
}

#ifdef __SSE2__
/* Bit j: p[j] is a byte of ua_sep. */
static unsigned ua_sep16(const unsigned char *p)
{
    __m128i c = _mm_loadu_si128((const __m128i *)p);
    __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8(' ')),
                                          _mm_cmpeq_epi8(c, _mm_set1_epi8('('))),
                             _mm_or_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8(';')),
                                          _mm_cmpeq_epi8(c, _mm_set1_epi8(','))));
    m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8('+')),
                                     _mm_cmpeq_epi8(c, _mm_set1_epi8('\t'))));
    return (unsigned)_mm_movemask_epi8(m);
}
#endif

int waf_check_scanner_ua(const char *v, size_t vl, struct waf_hit *hit)
{
    const unsigned char *p = (const unsigned char *)v;
    /* Token starts in order: 0, then after each separator. The separators
     * are found 16 bytes a step: a browser User-Agent is long and has a
     * dozen tokens. */
    int k = scanner_at(p, vl, 0);
    size_t i = 0, at = 0;
#ifdef __SSE2__
    for (; k < 0 && i + 16 <= vl; i += 16)
        for (unsigned m = ua_sep16(p + i); m && k < 0; m &= m - 1)
            k = scanner_at(p, vl, at = i + (unsigned)__builtin_ctz(m) + 1);
#endif
    for (; k < 0 && i < vl; i++)
        if (ua_sep[p[i]]) k = scanner_at(p, vl, at = i + 1);
    if (k < 0) return 0;
    return fill(hit, 913100, WAF_SCANNER, 5, "security scanner User-Agent", at,
                strlen(scanner_tools[k]));
}

int waf_check_header(const char *name, size_t nl, const char *v, size_t vl,
                     struct waf_hit *hit)
{
    switch (lower((unsigned char)(nl ? name[0] : 0))) {
    case 'u':
        if (name_is(name, nl, "user-agent")) return waf_check_scanner_ua(v, vl, hit);
        break;
    case 'r':
        if (name_is(name, nl, "range")) return check_range(v, vl, hit);
        if (name_is(name, nl, "request-range")) {
            if (check_range(v, vl, hit)) return 1;
            return fill(hit, 920210, WAF_PROTOCOL, 5, "obsolete Request-Range header", 0,
                        vl);
        }
        break;
    case 'c':
        if (name_is(name, nl, "content-type")) return check_content_type(v, vl, hit);
        break;
    case 'a':
        if (name_is(name, nl, "accept-charset"))
            return fill(hit, 920600, WAF_PROTOCOL, 5, "deprecated Accept-Charset header",
                        0, vl);
        if (name_is(name, nl, "acunetix-product") ||
            name_is(name, nl, "acunetix-scanning-agreement") ||
            name_is(name, nl, "acunetix-user-agreement"))
            return fill(hit, 913110, WAF_SCANNER, 5, "scanner header", 0, vl);
        break;
    case 's':
        if (name_is(name, nl, "sec-fetch-user") &&
            !(vl == 2 && v[0] == '?' && (v[1] == '1' || v[1] == '0')))
            return fill(hit, 920275, WAF_PROTOCOL, 5, "invalid Sec-Fetch-User", 0, vl);
        break;
    case 'x':
        if (name_is(name, nl, "x-scanner") || name_is(name, nl, "x-scan-memo") ||
            name_is(name, nl, "x-wipp") || name_is(name, nl, "x-request-memo") ||
            name_is(name, nl, "x-requestmanager-memo"))
            return fill(hit, 913110, WAF_SCANNER, 5, "scanner header", 0, vl);
        break;
    default:
        break;
    }
    return 0;
}

/* Unicode look-alikes of '.', '/' and '\' that some stacks fold to ASCII. */
static char lookalike(const unsigned char *p, size_t rem, size_t *len)
{
    if (rem < 3) return 0;
    unsigned cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    if ((p[0] & 0xF0) != 0xE0 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
    *len = 3;
    switch (cp) {
    case 0xFF0E:
    case 0x2024:
    case 0xFE52:
        return '.';
    case 0xFF0F:
    case 0x2215:
    case 0x2044:
        return '/';
    case 0xFF3C:
    case 0x2216:
    case 0xFE68:
        return '\\';
    default:
        return 0;
    }
}

/* Length of the valid UTF-8 sequence at p (2-4), or 0 when it is none. */
static size_t utf8_len(const unsigned char *p, size_t rem)
{
    unsigned char c = p[0];
    size_t l = (c >= 0xC2 && c <= 0xDF)   ? 2
               : (c >= 0xE0 && c <= 0xEF) ? 3
               : (c >= 0xF0 && c <= 0xF4) ? 4
                                          : 0;
    if (l == 0 || rem < l) return 0;
    for (size_t k = 1; k < l; k++)
        if ((p[k] & 0xC0) != 0x80) return 0;
    return l;
}

int waf_check_bytes(const char *s, size_t n, enum waf_place place, struct waf_hit *hit)
{
    const unsigned char *p = (const unsigned char *)s;
    char win[3] = {0, 0, 0};
    int alike[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        char m = (char)c;
        int la = 0;
        size_t len = 1;
        if (c == 0) return fill(hit, WAF_RULE_NUL, WAF_PROTOCOL, 5, "NUL byte", i, 1);
        if (c < 0x20 || c == 0x7F) {
            if (place == WAF_PLACE_PATH)
                return fill(hit, WAF_RULE_PATH_CTL, WAF_PROTOCOL, 5,
                            "control character in the path", i, 1);
            if (c != '\t' && c != '\r' && c != '\n')
                return fill(hit, WAF_RULE_CTL, WAF_PROTOCOL, 5, "control character", i,
                            1);
        } else if (c == 0xC0 || c == 0xC1) {
            if (i + 1 >= n || (p[i + 1] & 0xC0) == 0x80)
                return fill(hit, WAF_RULE_OVERLONG_UTF8, WAF_PROTOCOL, 5,
                            "overlong UTF-8", i, i + 1 < n ? 2 : 1);
        } else if (c == 0xE0 && i + 2 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F &&
                   (p[i + 2] & 0xC0) == 0x80) {
            return fill(hit, WAF_RULE_OVERLONG_UTF8, WAF_PROTOCOL, 5, "overlong UTF-8", i,
                        3);
        } else if (c == 0xF0 && i + 3 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x8F &&
                   (p[i + 2] & 0xC0) == 0x80) {
            return fill(hit, WAF_RULE_OVERLONG_UTF8, WAF_PROTOCOL, 5, "overlong UTF-8", i,
                        4);
        } else if (c >= 0xF8 && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
            return fill(hit, WAF_RULE_OVERLONG_UTF8, WAF_PROTOCOL, 5,
                        "5- or 6-byte UTF-8 form", i, 2);
        } else if (c >= 0x80) {
            size_t ul = utf8_len(p + i, n - i);
            if (ul == 0 && c <= 0x9F && (i == 0 || p[i - 1] < 0x80)) /* after ASCII */
                /* a warning only: windows-1252 text ("don%92t") has these */
                return fill(hit, WAF_RULE_C1, WAF_PROTOCOL, 3, "C1 control byte", i, 1);
            if (ul == 3) {
                char l = lookalike(p + i, n - i, &len);
                if (l) m = l, la = 1;
            }
            if (ul > 1) len = ul;
        }
        win[0] = win[1], win[1] = win[2], win[2] = m;
        alike[0] = alike[1], alike[1] = alike[2], alike[2] = la;
        if (win[0] == '.' && win[1] == '.' && (win[2] == '/' || win[2] == '\\') &&
            (alike[0] || alike[1] || alike[2]))
            return fill(hit, WAF_RULE_UNICODE_TRAVERSAL, WAF_PROTOCOL, 5,
                        "Unicode look-alike path traversal", i, len);
        i += len - 1;
    }
    return 0;
}

static int hexv(unsigned char c)
{
    if (is_digit(c)) return c - '0';
    c = lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

int waf_check_double_encoding(const char *s, size_t n, struct waf_hit *hit)
{
    const char *p = memchr(s, '%', n);
    while (p) {
        size_t i = (size_t)(p - s);
        int h1 = i + 1 < n ? hexv((unsigned char)s[i + 1]) : -1;
        int h2 = i + 2 < n ? hexv((unsigned char)s[i + 2]) : -1;
        if (h1 >= 0 && h2 >= 0) {
            int v = h1 * 16 + h2;
            if (is_alpha((unsigned char)v) || is_digit((unsigned char)v) || v == '<' ||
                v == '>' || v == '\\' || v == '%' || v < 0x20)
                return fill(hit, WAF_RULE_DOUBLE_ENC, WAF_PROTOCOL, 5,
                            "multiple URL encoding", i, 3);
            if (v == '.' && i + 5 < n && s[i + 3] == '%' && s[i + 4] == '2' &&
                lower((unsigned char)s[i + 5]) == 'e')
                return fill(hit, WAF_RULE_DOUBLE_ENC, WAF_PROTOCOL, 5,
                            "multiple URL encoding", i, 6);
        }
        p = i + 1 < n ? memchr(s + i + 1, '%', n - i - 1) : NULL;
    }
    return 0;
}

/* Extensions a web server executes. */
static enum waf_class script_ext(const char *e, size_t l, int last)
{
    static const char *const php[] = {"php",  "php3",  "php4", "php5", "php7",
                                      "php8", "phtml", "phar", "pht",  "phpt",
                                      "phps", "pgif",  "inc"};
    static const char *const java[] = {"jsp", "jspx", "jsw", "jsv", "jspf", "jhtml"};
    static const char *const other[] = {
        "asp",   "aspx", "asa", "asax",     "ascx",   "ashx", "asmx", "cgi",
        "shtml", "shtm", "stm", "htaccess", "config", "cfm",  "cfml", "war"};
    char x[12];
    size_t k = 0;
    for (size_t i = 0; i < l && k < sizeof x - 1; i++)
        if (e[i] != ' ' && e[i] != '\t') x[k++] = (char)lower((unsigned char)e[i]);
    x[k] = '\0';
    for (size_t i = 0; i < sizeof php / sizeof php[0]; i++)
        if (strcmp(x, php[i]) == 0 && (last || i < 12))
            return WAF_PHP; /* x.php.jpg runs too */
    if (!last) return WAF_CLASS_COUNT;
    for (size_t i = 0; i < sizeof java / sizeof java[0]; i++)
        if (strcmp(x, java[i]) == 0) return WAF_JAVA;
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (strcmp(x, other[i]) == 0) return WAF_RCE;
    return WAF_CLASS_COUNT;
}

int waf_check_upload_name(const char *s, size_t n, struct waf_hit *hit)
{
    /* trailing dots and blanks are dropped by Windows file systems */
    while (n && (s[n - 1] == '.' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    const char *base = s;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/' || s[i] == '\\') base = s + i + 1;
    size_t bl = (size_t)(s + n - base);
    const char *dot = memchr(base, '.', bl);
    while (dot) {
        size_t st = (size_t)(dot - base) + 1;
        const char *next = st < bl ? memchr(base + st, '.', bl - st) : NULL;
        size_t el = next ? (size_t)(next - base) - st : bl - st;
        enum waf_class c = script_ext(base + st, el, next == NULL);
        if (c != WAF_CLASS_COUNT)
            return fill(hit, 960130, c, 5, "upload of a server-side script",
                        (size_t)(dot - s), el + 1);
        dot = next;
    }
    return 0;
}

/* Parameter names that carry a session id (session fixation). */
#define S(x)                                                                             \
    {                                                                                    \
        x, sizeof x - 1                                                                  \
    }
static const struct {
    const char *s;
    size_t len;
} session_names[] = {
    S("jsessionid"),        S("phpsessid"),       S("phpsession"),
    S("asp.net_sessionid"), S("weblogicsession"), S("session_id"),
    S("session-id"),        S("sessionid"),       S("cfid"),
    S("cftoken"),           S("cfsid"),           S("jservsession"),
    S("jwsession"),         S("koa:sess"),        S("koa.sess"),
    S("koa:sess.sig"),      S("koa.sess.sig"),    S("connect.sid"),
    S("laravel_session"),   S("ci_session"),      S("_session_id"),
    S("rack.session"),      S("sails.sid"),       S("express.sid"),
    S("django_session"),    S("aspsessionid"),
};
#undef S

/* Bit l of session_lens[c]: a name above starts with c and has l bytes (one
 * load rejects most names: "customer", "address"). */
static uint32_t session_lens[256];

__attribute__((constructor)) static void session_lens_init(void)
{
    for (size_t k = 0; k < sizeof session_names / sizeof session_names[0]; k++)
        session_lens[(unsigned char)session_names[k].s[0]] |= 1u << session_names[k].len;
}

int waf_is_session_param(const char *name, size_t n)
{
    /* ASP's ASPSESSIONIDXXXXXXXX carries a suffix */
    if (n > 12 && ci_at(name, n, 0, "aspsessionid")) return 1;
    if (n < 4 || n > 17) return 0;
    unsigned char c0 = lower((unsigned char)name[0]);
    if (!(session_lens[c0] >> n & 1)) return 0;
    for (size_t k = 0; k < sizeof session_names / sizeof session_names[0]; k++)
        if (session_names[k].len == n && (unsigned char)session_names[k].s[0] == c0 &&
            ci_at(name, n, 0, session_names[k].s))
            return 1;
    return 0;
}
