/* Strict lexical scan of HTTP/1.x heads. http-parser (non-strict Debian build)
 * accepts bare LF, obs-fold, whitespace before the colon and more; each of those
 * lets two parsers disagree about a message, so every byte of a head passes
 * through here first and the proxy never forwards what it could misread. */
#include "http.h"

#include <string.h>

/* tchar per RFC 9110 §5.6.2 */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
    ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1,  ['|'] = 1,
    ['~'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,  ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1,  ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,  ['j'] = 1,
    ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,  ['q'] = 1,
    ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1,  ['x'] = 1,
    ['y'] = 1, ['z'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1,  ['E'] = 1,
    ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1,  ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,  ['S'] = 1,
    ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1,  ['Z'] = 1,
};

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* field-value bytes: HTAB, SP, VCHAR, obs-text */
static int is_field_byte(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* request-target bytes: visible ASCII, and obs-text as nginx tolerates it */
static int is_target_byte(unsigned char c)
{
    return c > 0x20 && c != 0x7f;
}

static size_t token_len(const char *p, size_t len)
{
    size_t i = 0;
    while (i < len && tchar[(unsigned char)p[i]])
        i++;
    return i;
}

/* "HTTP/" DIGIT "." DIGIT */
static int check_version(const char *p, size_t len)
{
    if (len != 8 || memcmp(p, "HTTP/", 5) != 0) return 400;
    if (!is_digit(p[5]) || p[6] != '.' || !is_digit(p[7])) return 400;
    if (p[5] != '1') return 505;
    return 0;
}

static int check_request_line(const char *p, size_t len)
{
    size_t m = token_len(p, len);
    if (m == 0 || m == len || p[m] != ' ') return 400;
    size_t t = m + 1, te = t;
    while (te < len && is_target_byte((unsigned char)p[te]))
        te++;
    if (te == t || te == len || p[te] != ' ') return 400;
    return check_version(p + te + 1, len - te - 1);
}

static int check_status_line(const char *p, size_t len)
{
    if (len < 12 || check_version(p, 8) != 0 || p[8] != ' ') return 502;
    if (!is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11])) return 502;
    if (len > 12 && p[12] != ' ') return 502;
    for (size_t i = 13; i < len; i++)
        if (!is_field_byte((unsigned char)p[i])) return 502;
    return 0;
}

static int check_header_line(const char *p, size_t len)
{
    size_t n = token_len(p, len);
    if (n == 0 || n == len || p[n] != ':')
        return 400; /* also obs-fold, ws before colon */
    for (size_t i = n + 1; i < len; i++)
        if (!is_field_byte((unsigned char)p[i])) return 400;
    return 0;
}

void foyer_head_scan_init(struct foyer_head_scan *s, int is_request)
{
    s->pos = 0;
    s->first = 0;
    s->lines = 0;
    s->is_request = is_request;
}

static int over_limit(const struct foyer_head_scan *s, size_t len,
                      const struct foyer_head_limits *lim)
{
    if (len - s->first <= lim->max_bytes) return 0;
    if (!s->is_request) return 502;
    return s->pos == s->first ? 414 : 431; /* still in the request line? */
}

/* Skips the empty lines a server SHOULD ignore before a request-line. */
static int skip_leading_crlf(struct foyer_head_scan *s, const char *buf, size_t len)
{
    while (s->pos == s->first && s->lines == 0 && s->pos < len) {
        if (buf[s->pos] != '\r') return 0;
        if (s->pos + 1 >= len) return FOYER_HTTP_AGAIN;
        if (buf[s->pos + 1] != '\n' || s->pos >= 8) return 400;
        s->pos += 2;
        s->first = s->pos;
    }
    return 0;
}

int foyer_head_scan(struct foyer_head_scan *s, const char *buf, size_t len,
                    const struct foyer_head_limits *lim, size_t *head_len)
{
    int err = 0;
    if (s->is_request && (err = skip_leading_crlf(s, buf, len)) != 0) return err;
    for (;;) {
        const char *lf = memchr(buf + s->pos, '\n', len - s->pos);
        if (lf == NULL) {
            err = over_limit(s, len, lim);
            return err ? err : FOYER_HTTP_AGAIN;
        }
        size_t end = (size_t)(lf - buf);
        if ((err = over_limit(s, end + 1, lim)) != 0) return err;
        int bad = s->is_request ? 400 : 502;
        if (end == s->pos || buf[end - 1] != '\r') return bad; /* bare LF */
        const char *line = buf + s->pos;
        size_t line_len = end - 1 - s->pos;
        if (memchr(line, '\r', line_len) != NULL) return bad; /* bare CR */
        if (s->pos == s->first) {
            err = s->is_request ? check_request_line(line, line_len)
                                : check_status_line(line, line_len);
        } else if (line_len == 0) {
            *head_len = end + 1;
            s->pos = end + 1;
            return 0;
        } else {
            if (++s->lines > lim->max_headers) return s->is_request ? 431 : 502;
            err = check_header_line(line, line_len);
            if (err && !s->is_request) err = 502;
        }
        if (err) return err;
        s->pos = end + 1;
    }
}
