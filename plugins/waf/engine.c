/*
 * plugins/waf/engine.c — see engine.h.
 *
 * One waf_inspect() call: one malloc'd scratch buffer (the splitter's decode
 * area plus the normalisation forms of the variable being inspected), freed
 * before returning. Nothing is cached across requests.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "engine.h"

#include <regex.h>
#include <stddef.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_util.h"
#include "misc.h"
#include "normalize.h"
#include "request_parts.h"

#define DEFAULT_MAX_BODY (64 * 1024)
#define DEFAULT_MAX_ARG (4 * 1024)
#define WINDOW_OVERLAP 256 /* bytes shared by consecutive windows of a long value */
#define MIN_MAX_ARG 64     /* the smallest window */
#define MAX_SEEN 64        /* distinct rules counted per request */
#define MAX_ARGS 1024      /* more arguments than this is an anomaly */

/* ---- policy ------------------------------------------------------------- */

struct excl {
    char *path_prefix;
    char *arg;
    unsigned rule;
};

struct crule {
    unsigned id;
    enum waf_var_kind kind; /* WAF_VAR_KIND_COUNT: the raw body */
    char *name;             /* NULL = every variable of the kind */
    int op;
    char *pattern;
    size_t plen;
    int score;
    regex_t re;
};

struct waf_policy {
    int threshold;
    size_t max_body, max_arg;
    enum waf_over_limit over;
    int xml;
    struct excl *excl;
    size_t nexcl;
    struct crule *rules;
    size_t nrules, nregex;
    unsigned *disabled;
    size_t ndisabled;
};

struct waf_policy *waf_policy_new(void)
{
    struct waf_policy *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    p->threshold = 5;
    p->max_body = DEFAULT_MAX_BODY;
    p->max_arg = DEFAULT_MAX_ARG;
    p->over = WAF_OVER_LIMIT_INSPECT_PREFIX;
    return p;
}

void waf_policy_free(struct waf_policy *p)
{
    if (p == NULL) return;
    for (size_t i = 0; i < p->nexcl; i++) {
        free(p->excl[i].path_prefix);
        free(p->excl[i].arg);
    }
    for (size_t i = 0; i < p->nrules; i++) {
        free(p->rules[i].name);
        free(p->rules[i].pattern);
        if (p->rules[i].op == WAF_OP_REGEX) regfree(&p->rules[i].re);
    }
    free(p->excl);
    free(p->rules);
    free(p->disabled);
    free(p);
}

void waf_policy_set_threshold(struct waf_policy *p, int threshold)
{
    if (threshold > 0) p->threshold = threshold;
}

void waf_policy_set_limits(struct waf_policy *p, size_t max_body, size_t max_args_total,
                           enum waf_over_limit over)
{
    if (max_body) p->max_body = max_body;
    if (max_args_total)
        p->max_arg = max_args_total < MIN_MAX_ARG ? MIN_MAX_ARG : max_args_total;
    p->over = over;
}

void waf_policy_set_xml(struct waf_policy *p, int on)
{
    p->xml = on != 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int waf_policy_add_exclusion(struct waf_policy *p, const struct waf_exclusion *e)
{
    struct excl *n = realloc(p->excl, (p->nexcl + 1) * sizeof *n);
    if (n == NULL) return -1;
    p->excl = n;
    struct excl *x = &n[p->nexcl];
    x->path_prefix = dup_or_null(e->path_prefix);
    x->arg = dup_or_null(e->arg);
    x->rule = e->rule;
    if ((e->path_prefix && !x->path_prefix) || (e->arg && !x->arg)) {
        free(x->path_prefix);
        free(x->arg);
        return -1;
    }
    p->nexcl++;
    return 0;
}

/* Collections as ModSecurity names them. */
static const char *const kind_names[WAF_VAR_KIND_COUNT] = {
    [WAF_VAR_METHOD] = "REQUEST_METHOD",  [WAF_VAR_URI] = "REQUEST_URI",
    [WAF_VAR_PATH] = "REQUEST_PATH",      [WAF_VAR_ARG] = "ARGS",
    [WAF_VAR_ARG_NAME] = "ARGS_NAMES",    [WAF_VAR_HEADER] = "REQUEST_HEADERS",
    [WAF_VAR_COOKIE] = "REQUEST_COOKIES", [WAF_VAR_COOKIE_NAME] = "REQUEST_COOKIES_NAMES",
    [WAF_VAR_FILE_NAME] = "FILES",        [WAF_VAR_BODY] = "REQUEST_BODY",
};

/* "ARGS:q" -> kind ARGS, *key "q"; returns -1 for an unknown collection.
 * REQUEST_BODY maps to WAF_VAR_KIND_COUNT: the raw body, split or not. */
static int parse_variable(const char *v, int *kind, const char **key)
{
    const char *colon = strchr(v, ':');
    size_t l = colon ? (size_t)(colon - v) : strlen(v);
    *key = colon && colon[1] ? colon + 1 : NULL;
    for (int k = 0; k < WAF_VAR_KIND_COUNT; k++) {
        if (strlen(kind_names[k]) == l && strncasecmp(v, kind_names[k], l) == 0) {
            *kind = k == WAF_VAR_BODY ? WAF_VAR_KIND_COUNT : k;
            return 0;
        }
    }
    return -1;
}

int waf_policy_add_rule(struct waf_policy *p, const struct waf_custom_rule *r, char *err,
                        size_t errlen)
{
    int kind;
    const char *key;
    if (r->variable == NULL || parse_variable(r->variable, &kind, &key) != 0) {
        snprintf(err, errlen, "unknown variable '%s'", r->variable ? r->variable : "");
        return -1;
    }
    if (r->op < WAF_OP_CONTAINS || r->op > WAF_OP_REGEX || r->pattern == NULL) {
        snprintf(err, errlen, "bad operator or missing pattern");
        return -1;
    }
    struct crule c = {
        .id = r->id, .kind = (enum waf_var_kind)kind, .op = r->op, .score = r->score};
    if (r->op == WAF_OP_REGEX) {
        int rc = regcomp(&c.re, r->pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB);
        if (rc != 0) {
            char msg[128];
            regerror(rc, &c.re, msg, sizeof msg);
            snprintf(err, errlen, "regex '%s': %s", r->pattern, msg);
            return -1;
        }
    }
    c.name = dup_or_null(key);
    c.pattern = strdup(r->pattern);
    c.plen = strlen(r->pattern);
    struct crule *n = realloc(p->rules, (p->nrules + 1) * sizeof *n);
    if (n == NULL || c.pattern == NULL || (key && c.name == NULL)) {
        if (n) p->rules = n;
        free(c.name);
        free(c.pattern);
        if (r->op == WAF_OP_REGEX) regfree(&c.re);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->rules = n;
    p->rules[p->nrules++] = c;
    if (c.op == WAF_OP_REGEX) p->nregex++;
    return 0;
}

int waf_policy_disable_rule(struct waf_policy *p, unsigned id)
{
    unsigned *n = realloc(p->disabled, (p->ndisabled + 1) * sizeof *n);
    if (n == NULL) return -1;
    p->disabled = n;
    p->disabled[p->ndisabled++] = id;
    return 0;
}

/* ---- per-request context ------------------------------------------------ */

enum { F_URL, F_NUL, F_HTML, F_ESC, F_SQLC, F_SQLJ, F_PATH, F_SHELL, F_COUNT };

struct form {
    const char *p;
    size_t n;
};

struct ctx {
    const struct waf_policy *p;
    const struct waf_request_view *r;
    struct waf_report *out;
    const char *path; /* normalised path, for exclusions */
    size_t path_len;
    const struct waf_header *host, *referer;
    char *slots; /* F_COUNT form slots of slot_cap bytes */
    char *parts; /* the splitter's area (free while a header is inspected) */
    size_t parts_cap;
    size_t slot_cap;
    unsigned seen[MAX_SEEN];
    size_t nseen;
    size_t nargs;
    char *rx; /* a copy of the value a custom regex looks at */
    size_t rx_cap;
};

static int rule_disabled(const struct waf_policy *p, unsigned rule)
{
    for (size_t i = 0; i < p->ndisabled; i++)
        if (p->disabled[i] == rule) return 1;
    return 0;
}

static int span_eq(const char *a, size_t al, const char *lit, int ci)
{
    size_t l = strlen(lit);
    if (l != al) return 0;
    return ci ? strncasecmp(a, lit, l) == 0 : memcmp(a, lit, l) == 0;
}

/* Does exclusion variable spec x cover variable (kind, name)? */
static int excl_var_match(const char *x, enum waf_var_kind kind, const char *name,
                          size_t nl)
{
    int ci = kind == WAF_VAR_HEADER;
    const char *colon = strchr(x, ':');
    if (colon) {
        size_t l = (size_t)(colon - x);
        if (strlen(kind_names[kind]) != l || strncasecmp(x, kind_names[kind], l) != 0)
            return 0;
        return span_eq(name, nl, colon + 1, ci);
    }
    if (strcasecmp(x, kind_names[kind]) == 0) return 1;
    switch (kind) {
    case WAF_VAR_ARG:
    case WAF_VAR_ARG_NAME:
    case WAF_VAR_COOKIE:
    case WAF_VAR_COOKIE_NAME:
    case WAF_VAR_FILE_NAME:
    case WAF_VAR_HEADER:
        return span_eq(name, nl, x, ci);
    default:
        return 0;
    }
}

static int excluded(const struct ctx *c, unsigned rule, enum waf_var_kind kind,
                    const char *name, size_t nl)
{
    for (size_t i = 0; i < c->p->nexcl; i++) {
        const struct excl *e = &c->p->excl[i];
        if (e->rule && e->rule != rule) continue;
        if (e->path_prefix) {
            size_t l = strlen(e->path_prefix);
            if (c->path_len < l || memcmp(c->path, e->path_prefix, l) != 0) continue;
        }
        if (e->arg && !excl_var_match(e->arg, kind, name, nl)) continue;
        return 1;
    }
    return 0;
}

static void var_name(char *dst, size_t cap, enum waf_var_kind kind, const char *name,
                     size_t nl)
{
    const char *k = kind < WAF_VAR_KIND_COUNT ? kind_names[kind] : "REQUEST_BODY";
    size_t o = (size_t)snprintf(dst, cap, "%s", k);
    if (o >= cap || nl == 0 || kind == WAF_VAR_URI || kind == WAF_VAR_PATH ||
        kind == WAF_VAR_METHOD || kind == WAF_VAR_BODY)
        return;
    dst[o++] = ':';
    for (size_t i = 0; i < nl && o + 1 < cap; i++) {
        unsigned char ch = (unsigned char)name[i];
        dst[o++] = (ch >= 0x20 && ch < 0x7F) ? (char)ch : '?';
    }
    dst[o] = '\0';
}

static void excerpt(char *dst, size_t cap, const char *s, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7F && ch != '\\') {
            dst[o++] = (char)ch;
        } else {
            if (o + 5 >= cap) break;
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hx[ch >> 4];
            dst[o++] = hx[ch & 15];
        }
    }
    dst[o] = '\0';
}

/* Records a finding unless disabled, excluded or already counted. */
static void add(struct ctx *c, unsigned rule, enum waf_class cls, int score,
                const char *reason, enum waf_var_kind kind, const char *name, size_t nl,
                const char *s, size_t n, size_t at, size_t len)
{
    if (rule_disabled(c->p, rule)) return;
    for (size_t i = 0; i < c->nseen; i++)
        if (c->seen[i] == rule) return;
    if (c->p->nexcl && excluded(c, rule, kind, name, nl)) return;
    if (c->nseen < MAX_SEEN) c->seen[c->nseen++] = rule;
    c->out->score += score;
    if (c->out->nfindings >= WAF_MAX_FINDINGS) return;
    struct waf_finding *f = &c->out->findings[c->out->nfindings++];
    f->rule = rule;
    f->cls = cls;
    f->score = score;
    f->reason = reason;
    var_name(f->var, sizeof f->var, kind, name, nl);
    if (at > n) at = n;
    if (len == 0 || len > n - at) len = n - at;
    if (len > 60) len = 60;
    excerpt(f->excerpt, sizeof f->excerpt, s + at, len);
}

static void add_hit(struct ctx *c, const struct waf_hit *h, const struct waf_var *v,
                    const char *s, size_t n)
{
    add(c, h->rule, h->cls, h->score, h->reason, v->kind, v->name, v->name_len, s, n,
        h->at, h->len);
}

/* ---- custom rules ------------------------------------------------------- */

static int ci_contains(const char *s, size_t n, const char *p, size_t pl)
{
    if (pl == 0) return 1;
    for (size_t i = 0; i + pl <= n; i++)
        if (strncasecmp(s + i, p, pl) == 0) return 1; /* NUL in s only shortens */
    return 0;
}

static int rule_matches(const struct ctx *c, const struct crule *cr, const char *s,
                        size_t n)
{
    switch (cr->op) {
    case WAF_OP_CONTAINS:
        return ci_contains(s, n, cr->pattern, cr->plen);
    case WAF_OP_EQUALS:
        return n == cr->plen && strncasecmp(s, cr->pattern, n) == 0;
    case WAF_OP_BEGINS_WITH:
        return n >= cr->plen && strncasecmp(s, cr->pattern, cr->plen) == 0;
    case WAF_OP_REGEX: {
        /* a NUL-terminated copy: values are spans of the request, and
         * REG_STARTEND is neither portable nor understood by sanitizers */
        size_t l = n < c->rx_cap - 1 ? n : c->rx_cap - 1;
        memcpy(c->rx, s, l);
        c->rx[l] = '\0';
        return regexec(&cr->re, c->rx, 0, NULL, 0) == 0;
    }
    default:
        return 0;
    }
}

static void custom_rules(struct ctx *c, const struct waf_var *v)
{
    for (size_t i = 0; i < c->p->nrules; i++) {
        const struct crule *cr = &c->p->rules[i];
        if (cr->kind != v->kind) continue;
        if (cr->name &&
            !span_eq(v->name, v->name_len, cr->name, v->kind == WAF_VAR_HEADER))
            continue;
        if (rule_matches(c, cr, v->value, v->value_len))
            add(c, cr->id, WAF_GENERIC, cr->score, "custom rule", v->kind, v->name,
                v->name_len, v->value, v->value_len, 0, 0);
    }
}

/* ---- detectors ---------------------------------------------------------- */

/* Which normalised forms each detector sees besides the base (URL-decoded,
 * NUL-free) form. */
struct det {
    waf_detector_fn fn;
    unsigned forms; /* 1 << F_xxx */
    unsigned needs; /* run only on values holding one of these (WAF_CS_xxx) */
    /* 0 when fn can fire neither on the base form nor on its extra forms
     * (a cheap test that skips the detector on most prose) */
    int (*possible)(const char *s, size_t n, unsigned cs); /* cs: s's charset */
    unsigned passes; /* values with one of these would pass `possible`: not asked */
};

#define FB(f) (1u << (f))

/* Pairs of bytes, in bits waf_charset() leaves free. ':' beside a path
 * separator (c:\\, php://, jndi:ldap://); a ':' alone ("7:30", "Note: ...") is
 * prose to the path and code detectors. */
#define CS_COLON_PATH (1u << 29)
/* A quote and a ';': a string break-out into a statement ("';return true"). */
#define CS_QUOTE_SEMI (1u << 30)

/* needs: a value with none of these characters cannot hold an attack of
 * the detector's class (e.g. template injection needs a delimiter such as
 * '{' '$' '#' '%' '<' '@' '['), so the detector is not run on it. */
#define CS_ANY_SQL                                                                       \
    (WAF_CS_SPACE | WAF_CS_PLUS | WAF_CS_QUOTE | WAF_CS_HASH | WAF_CS_DASH2 |            \
     WAF_CS_PAREN | WAF_CS_SEMI | WAF_CS_EQ | WAF_CS_LT | WAF_CS_GT | WAF_CS_PIPE |      \
     WAF_CS_AMP | WAF_CS_CTL | WAF_CS_STAR | WAF_CS_OTHER | WAF_CS_BRACE | WAF_CS_PCT |  \
     WAF_CS_BSLASH)
/* Code needs a call, a variable, a tag, a lookup, a wrapper (php://, jndi:ldap://)
 * or an escape; a ';' ends a statement but starts none, so alone it is prose. */
#define CS_CODE                                                                          \
    (WAF_CS_PAREN | WAF_CS_DOLLAR | WAF_CS_BRACE | WAF_CS_BRACKET | WAF_CS_LT |          \
     WAF_CS_BTICK | CS_COLON_PATH | WAF_CS_BSLASH | WAF_CS_HASH | WAF_CS_PCT)
static const struct det detectors[] = {
    {waf_detect_sqli, FB(F_SQLC) | FB(F_SQLJ), CS_ANY_SQL, waf_sqli_possible_cs, 0},
    {waf_detect_xss, FB(F_HTML) | FB(F_ESC),
     WAF_CS_LT | WAF_CS_GT | WAF_CS_PAREN | WAF_CS_BTICK | WAF_CS_EQ | WAF_CS_COLON |
         WAF_CS_AMP | WAF_CS_BSLASH | WAF_CS_BRACE | WAF_CS_BRACKET | WAF_CS_PCT,
     NULL, 0},
    {waf_detect_lfi, FB(F_PATH),
     WAF_CS_SLASH | WAF_CS_BSLASH | CS_COLON_PATH | WAF_CS_PCT | WAF_CS_NUL |
         WAF_CS_DOT2 | WAF_CS_HIGH,
     NULL, 0},
    {waf_detect_rfi, 0, WAF_CS_COLON | WAF_CS_SLASH | WAF_CS_BSLASH | WAF_CS_PCT, NULL,
     0},
    {waf_detect_rce, FB(F_SHELL),
     WAF_CS_SEMI | WAF_CS_PIPE | WAF_CS_AMP | WAF_CS_DOLLAR | WAF_CS_PAREN | WAF_CS_LT |
         WAF_CS_GT | WAF_CS_CTL | WAF_CS_BRACE | WAF_CS_QUOTE | WAF_CS_BSLASH |
         WAF_CS_OTHER | WAF_CS_SLASH | WAF_CS_PCT,
     waf_rce_possible_cs,
     WAF_CS_SLASH | WAF_CS_BSLASH | WAF_CS_DOLLAR | WAF_CS_PCT | WAF_CS_BTICK |
         WAF_CS_BRACE},
    {waf_detect_code, FB(F_ESC), CS_CODE, NULL, 0},
    /* every template syntax it knows opens with '{' ({{ ${ #{ *{ {%), '<'
     * (<% <#assign) or '#' (#set( #foreach() */
    {waf_detect_ssti, 0, WAF_CS_BRACE | WAF_CS_LT | WAF_CS_HASH, NULL, 0},
    /* each filter rule has a parenthesis: "(|(", ")(uid=", "*))" */
    {waf_detect_ldap, 0, WAF_CS_PAREN, NULL, 0},
    /* operators ($ne, [$gt]), calls, blocks, or a quote and a ';' (';return) */
    {waf_detect_nosql, 0,
     WAF_CS_DOLLAR | WAF_CS_BRACKET | WAF_CS_BRACE | WAF_CS_PAREN | CS_QUOTE_SEMI, NULL,
     0},
    /* SSI/XXE need '<' (or "&lt;"), mail a line break, session fixation an
     * attribute "; expires=", out-of-band probe domains sit in URLs */
    {waf_detect_misc, FB(F_HTML),
     WAF_CS_LT | WAF_CS_CTL | WAF_CS_PCT | WAF_CS_HIGH | WAF_CS_EQ | WAF_CS_COLON |
         WAF_CS_SLASH | WAF_CS_AMP,
     NULL, 0},
};

#define NDETECTORS (sizeof detectors / sizeof detectors[0])

/* Bit b of the charset: the detectors (bit d: detectors[d]) that need it;
 * the code detector's bit, which code_hint() also sets. */
static unsigned det_by_byte[32], det_code;

__attribute__((constructor)) static void det_by_byte_init(void)
{
    _Static_assert(NDETECTORS <= 32, "a bit per detector");
    for (unsigned d = 0; d < NDETECTORS; d++) {
        for (unsigned b = 0; b < 32; b++)
            if (detectors[d].needs & (1u << b)) det_by_byte[b] |= 1u << d;
        if (detectors[d].fn == waf_detect_code) det_code = 1u << d;
    }
}

typedef size_t (*xform_fn)(const char *in, size_t n, char *out);

static size_t xf_html(const char *in, size_t n, char *out)
{
    return waf_html_decode(in, n, out);
}

static size_t xf_path(const char *in, size_t n, char *out)
{
    return waf_path_normalize(in, n, out, 1);
}

/* Are the value's only shell-ignored bytes quotes inside words ("it's",
 * "O'Brien")? The RCE detector already reads a command word through such
 * quotes (c'a't is "cat"), so the de-obfuscated form would add nothing. */
static int inword_quotes_only(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\\' || ch == '^' || ch == '$') return 0;
        if ((ch == '\'' || ch == '"' || ch == '`') &&
            !(i > 0 && i + 1 < n && waf_is_alnum((unsigned char)s[i - 1]) &&
              waf_is_alnum((unsigned char)s[i + 1])))
            return 0;
    }
    return 1;
}

/* Has s an empty path segment ("//")? */
static int double_slash(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '/' && s[i + 1] == '/') return 1;
    return 0;
}

/* The bytes without which form f equals the base form (make_form() tests
 * them too, and more): '&' for entities, '\\' for escapes, comment openers,
 * path separators. */
static const unsigned form_bytes[F_COUNT] = {
    [F_HTML] = WAF_CS_AMP,
    [F_ESC] = WAF_CS_BSLASH,
    [F_SQLC] = WAF_CS_DASH2 | WAF_CS_HASH,
    [F_SQLJ] = WAF_CS_DASH2,
    [F_PATH] = WAF_CS_SLASH | WAF_CS_BSLASH,
    [F_SHELL] = ~0u,
};

/* Computes form f from the base form into its slot; NULL-length forms that
 * equal their source are reported as absent (n = 0, p = NULL). */
static void make_form(struct ctx *c, struct form *forms, int f, unsigned cs)
{
    const struct form *b = &forms[F_NUL];
    char *slot = c->slots + (size_t)f * c->slot_cap;
    forms[f].p = NULL;
    forms[f].n = 0;
    size_t n = 0;
    switch (f) {
    case F_HTML:
        if (!(cs & WAF_CS_AMP)) return;
        n = xf_html(b->p, b->n, slot);
        break;
    case F_ESC:
        if (!(cs & WAF_CS_BSLASH)) return;
        n = waf_escape_decode(b->p, b->n, slot);
        break;
    case F_SQLC:
        if (!(cs & (WAF_CS_DASH2 | WAF_CS_HASH))) return;
        n = waf_remove_comments(b->p, b->n, slot);
        break;
    case F_SQLJ:
        if (!(cs & WAF_CS_DASH2) || !(cs & WAF_CS_STAR)) return;
        n = waf_strip_inline_comments(b->p, b->n, slot);
        break;
    case F_PATH:
        if (!(cs & (WAF_CS_SLASH | WAF_CS_BSLASH))) return;
        /* without '.', '\\' and "//" a path is already normal ("/menu/") */
        if (!(cs & (WAF_CS_DOT | WAF_CS_BSLASH)) && !double_slash(b->p, b->n)) return;
        n = xf_path(b->p, b->n, slot);
        break;
    case F_SHELL: {
        /* quote splitting (c''at) matters only where a command can start:
         * after a separator or inside a substitution */
        if (!(cs & (WAF_CS_QUOTE | WAF_CS_BSLASH | WAF_CS_OTHER | WAF_CS_DOLLAR))) return;
        if (!(cs &
              (WAF_CS_SEMI | WAF_CS_PIPE | WAF_CS_AMP | WAF_CS_BTICK | WAF_CS_DOLLAR |
               WAF_CS_CTL | WAF_CS_PAREN | WAF_CS_LT | WAF_CS_GT | WAF_CS_BRACE)))
            return;
        const struct form *src = forms[F_ESC].p ? &forms[F_ESC] : b;
        if (inword_quotes_only(src->p, src->n)) return;
        n = waf_shell_deobfuscate(src->p, src->n, slot);
        if (n == src->n && memcmp(slot, src->p, n) == 0) return;
        /* only the RCE detector reads this form: skip it when it cannot fire
         * there ("it's for Tom's birthday" becomes plain words) */
        if (!waf_rce_possible(slot, n)) return;
        forms[f].p = slot;
        forms[f].n = n;
        return;
    }
    default:
        return;
    }
    if (n == b->n && memcmp(slot, b->p, n) == 0) return;
    forms[f].p = slot;
    forms[f].n = n;
}

/* Only hex digits: session ids, digests. */
static int hex_token(const char *s, size_t n)
{
    static const unsigned char hex[256] = {
        ['0' ... '9'] = 1, ['a' ... 'f'] = 1, ['A' ... 'F'] = 1};
    unsigned char ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= hex[(unsigned char)s[i]];
    return ok;
}

/* The Java serialisation magic, hex-encoded, anywhere in a hex token. */
static int hex_magic(const char *s, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i++)
        if ((s[i] | 32) == 'a' && strncasecmp(s + i, "aced0005", 8) == 0) return 1;
    return 0;
}

/* A serialised Java object: base64 "rO0", hex "aced" (n >= 4). */
static inline int serial_prefix(const char *s)
{
    return (s[0] == 'r' && s[1] == 'O' && s[2] == '0') ||
           ((s[0] | 32) == 'a' && (s[1] | 32) == 'c' && (s[2] | 32) == 'e' &&
            (s[3] | 32) == 'd');
}

/* Code injection that needs none of the code detector's characters: a Java
 * class name (java.lang.ProcessBuilder), a dunder attribute (__proto__,
 * __class__), a serialised Java object (base64 "rO0", hex "aced") or a base64
 * gadget name in a long token. These cheap shapes decide whether the
 * (costlier: 0.25-1.5 us on a token) detector runs on a plain value. */
static int code_hint_slow(const char *s, size_t n, unsigned cs)
{
    /* a long plain token may be a base64 serialised object or gadget name;
     * a hex one (session ids, digests) only the hex of one (aced0005) */
    if ((cs & ~WAF_CS_WORDY) == 0 && n >= 16) return !hex_token(s, n) || hex_magic(s, n);
    if ((cs & WAF_CS_DOT) && n >= 10) {
        /* a class: "x.y.ClassName", or a JDK / well-known package root */
        for (const char *d = memchr(s, '.', n); d && d + 1 < s + n;
             d = memchr(d + 1, '.', (size_t)(s + n - d - 1)))
            if (d[1] >= 'A' && d[1] <= 'Z') return 1;
        int root = 0; /* well-known package roots (n >= 10: the prefixes fit) */
        switch (s[0] | 32) {
        case 'j':
            root = !strncasecmp(s, "java", 4) || !strncasecmp(s, "jdk.", 4);
            break;
        case 's':
            root = !strncasecmp(s, "sun.", 4);
            break;
        case 'c':
            root = !strncasecmp(s, "com.sun.", 8);
            break;
        case 'o':
            root = !strncasecmp(s, "org.", 4);
            break;
        case 'b':
            root = !strncasecmp(s, "bsh.", 4);
            break;
        case 'g':
            root = !strncasecmp(s, "groovy.", 7);
            break;
        default:
            break;
        }
        if (root) return 1;
    }
    if (serial_prefix(s)) return 1;
    if (!(cs & WAF_CS_UNDER)) return 0; /* no "__" */
    const char *u = memchr(s, '_', n);
    while (u && u + 1 < s + n) {
        if (u[1] == '_') return 1;
        u = memchr(u + 2, '_', (size_t)(s + n - u - 2));
    }
    return 0;
}

/* code_hint_slow() inlined for most values: without '.' or '_', and not a
 * long token, only the serialised-object prefixes remain. */
static inline int code_hint(const char *s, size_t n, unsigned cs)
{
    if (n < 5) return 0;
    if (!(cs & WAF_CS_WORDY) && (n < 16 || (cs & ~WAF_CS_WORDY))) return serial_prefix(s);
    return code_hint_slow(s, n, cs);
}

/* cs with the engine's pair bits (CS_COLON_PATH, CS_QUOTE_SEMI) added. */
static unsigned with_pairs(unsigned cs)
{
    if ((cs & WAF_CS_COLON) && (cs & (WAF_CS_SLASH | WAF_CS_BSLASH))) cs |= CS_COLON_PATH;
    if ((cs & WAF_CS_QUOTE) && (cs & WAF_CS_SEMI)) cs |= CS_QUOTE_SEMI;
    return cs;
}

/* Header injection wants the once-decoded value, leftovers like %0d%0a
 * included; a request line ("GET /x HTTP/1.1") needs no special byte. */
static int crlf_possible(const char *s, size_t n, unsigned cs)
{
    return (cs & (WAF_CS_CTL | WAF_CS_PCT | WAF_CS_HIGH)) ||
           (n >= 14 && (cs & WAF_CS_SLASH) && (cs & WAF_CS_SPACE) &&
            memmem(s, n, " HTTP/", 6));
}

/* cs is waf_charset(s, n), which the caller has already computed. */
static void run_detectors(struct ctx *c, const struct waf_var *v, const char *s, size_t n,
                          unsigned cs)
{
    struct form forms[F_COUNT]; /* filled as needed: no memset on the hot path */
    /* the hint only matters when the code detector's characters are absent */
    cs = with_pairs(cs);
    int hint = !(cs & CS_CODE) && code_hint(s, n, cs);
    if ((cs & ~WAF_CS_WORDY) == 0) { /* letters, digits, '_', '-', '.' */
        struct waf_hit h;
        if (hint && waf_detect_code(s, n, v->place, &h)) add_hit(c, &h, v, s, n);
        return;
    }
    /* base form: fully URL-decoded (double encoding), without NUL bytes */
    forms[F_URL].p = s;
    forms[F_URL].n = n;
    if (cs & WAF_CS_PCT) {
        char *slot = c->slots + (size_t)F_URL * c->slot_cap;
        forms[F_URL].n = waf_url_decode_full(s, n, slot, 0, NULL);
        forms[F_URL].p = slot;
        cs = with_pairs(cs | waf_charset(slot, forms[F_URL].n));
    }
    forms[F_NUL] = forms[F_URL];
    if (cs & WAF_CS_NUL) {
        char *slot = c->slots + (size_t)F_NUL * c->slot_cap;
        forms[F_NUL].n = waf_remove_nul(forms[F_URL].p, forms[F_URL].n, slot);
        forms[F_NUL].p = slot;
    }
    unsigned made = 0, run = hint ? det_code : 0;
    for (unsigned m = cs; m; m &= m - 1) /* a few bits: prose has few kinds of byte */
        run |= det_by_byte[__builtin_ctz(m)];
    struct waf_hit h;
    for (; run; run &= run - 1) { /* in table order */
        const struct det *dt = &detectors[__builtin_ctz(run)];
        if (dt->possible && !(cs & dt->passes) &&
            !dt->possible(forms[F_NUL].p, forms[F_NUL].n, cs))
            continue;
        if (dt->fn(forms[F_NUL].p, forms[F_NUL].n, v->place, &h)) {
            add_hit(c, &h, v, forms[F_NUL].p, forms[F_NUL].n);
            continue;
        }
        for (unsigned m = dt->forms; m; m &= m - 1) { /* each extra form it wants */
            int f = __builtin_ctz(m);
            if (!(made & FB(f))) {
                if (f == F_SHELL && !(made & FB(F_ESC))) {
                    make_form(c, forms, F_ESC, cs);
                    made |= FB(F_ESC);
                }
                if (cs & form_bytes[f])
                    make_form(c, forms, f, cs);
                else /* the byte the form decodes is absent: it equals the base */
                    forms[f].p = NULL;
                made |= FB(f);
            }
            if (forms[f].p && dt->fn(forms[f].p, forms[f].n, v->place, &h)) {
                add_hit(c, &h, v, forms[f].p, forms[f].n);
                break;
            }
        }
    }
    if (crlf_possible(s, n, cs) && waf_detect_crlf(s, n, v->place, &h))
        add_hit(c, &h, v, s, n);
}

/* run_detectors() on a value of letters, digits, '_', '-' and '.' only
 * (charset cs): only a code hint can make it fire, and not below 5 bytes. */
static void plain_token(struct ctx *c, const struct waf_var *v, unsigned cs)
{
    struct waf_hit h;
    if (v->value_len >= 5 && code_hint(v->value, v->value_len, cs) &&
        waf_detect_code(v->value, v->value_len, v->place, &h))
        add_hit(c, &h, v, v->value, v->value_len);
}

/* Long values are inspected in overlapping windows of max_arg bytes so that
 * the form slots stay bounded and a payload after padding is still seen. */
static inline __attribute__((always_inline)) void
inspect_value(struct ctx *c, const struct waf_var *v, unsigned cs)
{
    size_t w = c->slot_cap - 1;
    if (v->value_len <= w) {
        run_detectors(c, v, v->value, v->value_len, cs);
        return;
    }
    size_t overlap = w >= 4 * WINDOW_OVERLAP ? WINDOW_OVERLAP : w / 4; /* step >= 3w/4 */
    for (size_t off = 0; off < v->value_len; off += w - overlap) {
        size_t l = v->value_len - off < w ? v->value_len - off : w;
        run_detectors(c, v, v->value + off, l, waf_charset(v->value + off, l));
        if (off + l >= v->value_len) break;
    }
}

/* Characters of headers with a fixed grammar (media types, dates, tokens,
 * entity tags, q-values); a value outside them gets the detectors. */
/* Bytes allowed in structured header values. */
static const unsigned char structured_tab[256] = {
    ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, [' '] = 1, [','] = 1,
    [';'] = 1,         ['='] = 1,         ['.'] = 1,         ['/'] = 1, ['*'] = 1,
    ['+'] = 1,         ['_'] = 1,         [':'] = 1,         ['?'] = 1, ['"'] = 1,
    ['!'] = 1,         ['-'] = 1,         ['\t'] = 1,
};

static int structured_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char ok = 1, ok1 = 1, ok2 = 1, ok3 = 1; /* no branch, four chains */
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        ok &= structured_tab[p[i]];
        ok1 &= structured_tab[p[i + 1]];
        ok2 &= structured_tab[p[i + 2]];
        ok3 &= structured_tab[p[i + 3]];
    }
    for (; i < n; i++)
        ok &= structured_tab[p[i]];
    return ok & ok1 & ok2 & ok3;
}

/* The headers the engine treats apart, by name. */
enum hdr { H_OTHER, H_COOKIE, H_UA, H_AUTH, H_REFERER, H_HINT };

static enum hdr header_kind(const char *n, size_t l)
{
    switch (l) {
    case 6:
        return waf_span_ieq(n, l, "cookie") ? H_COOKIE : H_OTHER;
    case 7:
        return waf_span_ieq(n, l, "referer") ? H_REFERER : H_OTHER;
    case 10:
        return waf_span_ieq(n, l, "user-agent") ? H_UA : H_OTHER;
    case 13:
        return waf_span_ieq(n, l, "authorization") ? H_AUTH : H_OTHER;
    default:
        return (l > 7 && waf_span_ieq(n, 7, "sec-ch-")) ? H_HINT : H_OTHER;
    }
}

/* Token bytes of User-Agent products: [A-Za-z0-9._+-]. */
static const unsigned char ua_tok_tab[256] = {
    ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['.'] = 1,
    ['_'] = 1,         ['-'] = 1,         ['+'] = 1,
};

static inline int ua_tok(unsigned char ch)
{
    return ua_tok_tab[ch];
}

/* One word of a User-Agent comment: plain ([A-Za-z0-9._+:,-]), a product
 * "name/version", or a bot's "+http(s)://host/path" link without "..". */
static int ua_word_ok(const char *w, size_t n)
{
    size_t slashes = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)w[i];
        if (ch == '/')
            slashes++;
        else if (!ua_tok(ch) && ch != ':' && ch != ',' && ch != '~')
            return 0;
        if (ch == '.' && i + 1 < n && w[i + 1] == '.') return 0;
        if (ch == '-' && i + 1 < n && w[i + 1] == '-') return 0;
    }
    if (slashes == 0) return 1;
    const char *u = w[0] == '+' ? w + 1 : w;
    size_t ul = (size_t)(w + n - u);
    if ((ul > 7 && strncasecmp(u, "http://", 7) == 0) ||
        (ul > 8 && strncasecmp(u, "https://", 8) == 0))
        return 1;
    return slashes == 1 && w[0] != '/' && w[n - 1] != '/' && !memchr(w, ':', n);
}

/* A User-Agent that is nothing but products ("Name/1.2") and comments
 * ("(X11; Linux x86_64; rv:121.0)") of plain words holds no injection: no
 * quotes, no nested parentheses, no shell or template syntax. Such values
 * (every browser's) skip the detectors; anything else gets them all. */
static int ua_grammatical(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] == ' ') {
            i++;
            continue;
        }
        if (s[i] == '(') {
            const char *close = memchr(s + i, ')', n - i);
            if (close == NULL) return 0;
            size_t e = (size_t)(close - s);
            for (size_t k = i + 1; k < e;) { /* words split by ' ' and ';' */
                while (k < e && (s[k] == ' ' || s[k] == ';'))
                    k++;
                size_t w = k;
                while (k < e && s[k] != ' ' && s[k] != ';')
                    k++;
                if (s[w] == '(' || !ua_word_ok(s + w, k - w)) return 0;
            }
            i = e + 1;
            continue;
        }
        size_t w = i, slash = 0;
        while (i < n && s[i] != ' ' && s[i] != '(') {
            if (s[i] == '/')
                slash++;
            else if (!ua_tok((unsigned char)s[i]))
                return 0;
            i++;
        }
        if (slash > 1 || s[w] == '/' || s[i - 1] == '/') return 0;
    }
    return 1;
}

/* "Bearer <token68>", "Basic <base64>": credentials, not text. */
static int auth_token_ok(const char *s, size_t n)
{
    while (n && s[n - 1] == '=')
        n--; /* token68 padding; no '=' elsewhere */
    const char *sp = memchr(s, ' ', n);
    if (sp == NULL) return 0;
    for (size_t i = 0; i < (size_t)(sp - s); i++)
        if (!ua_tok((unsigned char)s[i])) return 0;
    size_t i = (size_t)(sp - s) + 1;
    if (i >= n) return 0;
    for (; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!ua_tok(ch) && ch != '/' && ch != '~') return 0;
    }
    return 1;
}

static const char *strstr_n(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    for (size_t i = 0; i + l <= n; i++)
        if (memcmp(s + i, lit, l) == 0) return s + i;
    return NULL;
}

struct url_ctx {
    struct ctx *c;
    const struct waf_var *v;
};

static int on_url_part(void *ctx, const struct waf_var *part)
{
    struct url_ctx *u = ctx;
    if (part->value_len == 0) return 0;
    if (part->kind == WAF_VAR_ARG_NAME || part->kind == WAF_VAR_ARG) {
        struct waf_var v = *u->v; /* reported as the header itself */
        v.value = part->value;
        v.value_len = part->value_len;
        run_detectors(u->c, &v, v.value, v.value_len, waf_charset(v.value, v.value_len));
    }
    return 0;
}

/* A URL in a header (Referer): its path and each query argument are
 * inspected apart, like the request's own, so that the ordinary parts of a
 * link (host, path, "page=2") cost almost nothing and an injection in one
 * argument is not diluted by the rest. */
/* Where the path of "http(s)://host[:port]/path" starts when the part before
 * it is a plain origin: a host name or IPv4 address and a numeric port hold
 * nothing to inspect, and every Referer starts with one. 0 otherwise. */
static size_t plain_origin_len(const char *s, size_t n)
{
    size_t i;
    if (n > 7 && strncasecmp(s, "http://", 7) == 0)
        i = 7;
    else if (n > 8 && strncasecmp(s, "https://", 8) == 0)
        i = 8;
    else
        return 0;
    size_t h = i;
    while (i < n && (waf_is_alnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-'))
        i++;
    if (i == h) return 0;
    if (i < n && s[i] == ':') {
        size_t p = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == p || i - p > 5) return 0;
    }
    return i == n || s[i] == '/' ? i : 0;
}

static void inspect_url(struct ctx *c, const struct waf_var *v)
{
    const char *s = v->value;
    size_t n = v->value_len;
    const char *q = memchr(s, '?', n);
    size_t pl = q ? (size_t)(q - s) : n;
    if (pl > c->slot_cap - 1 || (q && n - pl > c->parts_cap)) {
        inspect_value(c, v, waf_charset(s, n));
        return;
    }
    size_t o = plain_origin_len(s, pl);
    struct waf_var pv = *v;
    pv.value = s + o;
    pv.value_len = pl - o;
    if (pl > o) run_detectors(c, &pv, s + o, pl - o, waf_charset(s + o, pl - o));
    if (q) {
        struct url_ctx u = {c, v};
        struct waf_parts_sink sink = {on_url_part, NULL, &u};
        waf_split_urlencoded(q + 1, n - pl - 1, 0, c->parts, c->parts_cap, &sink);
    }
    struct waf_hit h;
    if (crlf_possible(s, n, waf_charset(s, n)) && waf_detect_crlf(s, n, v->place, &h))
        add_hit(c, &h, v, s, n);
}

static void check_session_param(struct ctx *c, const struct waf_var *v)
{
    if (!waf_is_session_param(v->value, v->value_len)) return;
    if (c->referer == NULL || c->referer->value_len == 0) {
        add(c, WAF_RULE_SESSION_NOREF, WAF_SESSION, 5,
            "session id parameter without a Referer", v->kind, v->name, v->name_len,
            v->value, v->value_len, 0, 0);
        return;
    }
    /* the Referer's host must be the request's Host */
    const char *ref = c->referer->value;
    size_t rl = c->referer->value_len;
    const char *sep = rl > 3 ? strstr_n(ref, rl, "://") : NULL;
    const char *h = sep ? sep + 3 : ref;
    size_t hl = rl - (size_t)(h - ref);
    size_t e = 0;
    while (e < hl && h[e] != '/' && h[e] != '?' && h[e] != '#')
        e++;
    const char *at = memchr(h, '@', e);
    if (at) e -= (size_t)(at + 1 - h), h = at + 1;
    const char *host = c->host ? c->host->value : "";
    size_t hostl = c->host ? c->host->value_len : 0;
    if (e != hostl || strncasecmp(h, host, e) != 0)
        add(c, WAF_RULE_SESSION_FOREIGN, WAF_SESSION, 5,
            "session id parameter with a foreign Referer", v->kind, v->name, v->name_len,
            v->value, v->value_len, 0, 0);
}

/* Headers that carry the name of an uploaded file (AJAX uploaders). */
static int is_filename_header(const char *n, size_t l)
{
    return l >= 10 &&
           (waf_span_ieq(n, l, "x-filename") || waf_span_ieq(n, l, "x-file-name") ||
            waf_span_ieq(n, l, "x_filename"));
}

/* A header: protocol and scanner checks, then the detectors unless the
 * value is one whose grammar leaves no room for an injection. */
static void on_header(struct ctx *c, const struct waf_var *v)
{
    struct waf_hit h;
    if (waf_check_header(v->name, v->name_len, v->value, v->value_len, &h))
        add_hit(c, &h, v, v->value, v->value_len);
    if (is_filename_header(v->name, v->name_len) &&
        waf_check_upload_name(v->value, v->value_len, &h))
        add_hit(c, &h, v, v->value, v->value_len);
    enum hdr hk = header_kind(v->name, v->name_len);
    if (hk == H_HINT || hk == H_COOKIE) return; /* cookies are split apart */
    if ((v->flags & WAF_VF_STRUCTURED) && structured_ok(v->value, v->value_len)) return;
    if (hk == H_UA && ua_grammatical(v->value, v->value_len)) return;
    if (hk == H_AUTH && auth_token_ok(v->value, v->value_len)) return;
    if (hk == H_REFERER) {
        inspect_url(c, v);
        return;
    }
    if (v->value_len)
        inspect_value(
            c, v,
            v->value_len <= c->slot_cap - 1 ? waf_charset(v->value, v->value_len) : 0);
}

/* Arguments, their names, cookies, file names and the path: encoding and
 * byte anomalies, then the detectors. */
static void on_value(struct ctx *c, const struct waf_var *v)
{
    struct waf_hit h;
    if (v->kind == WAF_VAR_ARG_NAME) {
        if (!(v->flags & WAF_VF_MULTIPART) && ++c->nargs == MAX_ARGS + 1)
            add(c, WAF_RULE_TOO_MANY_ARGS, WAF_PROTOCOL, 5, "too many arguments", v->kind,
                v->name, v->name_len, v->value, v->value_len, 0, 0);
        if (!(v->flags & WAF_VF_NESTED)) check_session_param(c, v); /* top-level names */
    }
    if (v->kind == WAF_VAR_FILE_NAME && waf_check_upload_name(v->value, v->value_len, &h))
        add_hit(c, &h, v, v->value, v->value_len);
    unsigned cs = (v->flags & WAF_VF_CS) ? v->cs : waf_charset(v->value, v->value_len);
    /* a stray '%' ("50%off") is sloppy but common; a half escape is evasion */
    if ((v->flags & WAF_VF_BAD_PCT) &&
        (v->kind == WAF_VAR_ARG || v->kind == WAF_VAR_ARG_NAME)) {
        int half = (v->flags & WAF_VF_HALF_PCT) != 0;
        add(c, WAF_RULE_BAD_PCT, WAF_PROTOCOL, half ? 5 : 3,
            half ? "invalid URL encoding (half escape)" : "invalid URL encoding", v->kind,
            v->name, v->name_len, v->value, v->value_len, 0, 0);
    }
    if ((cs & WAF_CS_PCT) && v->kind != WAF_VAR_PATH &&
        waf_check_double_encoding(v->value, v->value_len, &h))
        add_hit(c, &h, v, v->value, v->value_len);
    if ((cs & (WAF_CS_CTL | WAF_CS_HIGH)) &&
        waf_check_bytes(v->value, v->value_len, v->place, &h))
        add_hit(c, &h, v, v->value, v->value_len);
    if ((cs & ~WAF_CS_WORDY) == 0 && v->value_len <= c->slot_cap - 1) {
        plain_token(c, v, cs); /* most names and many values */
        return;
    }
    inspect_value(c, v, cs);
}

static int on_var(void *ctx, const struct waf_var *v)
{
    struct ctx *c = ctx;
    struct waf_hit h;
    if (c->p->nrules) custom_rules(c, v);
    switch (v->kind) {
    case WAF_VAR_METHOD:
        if (waf_check_method(v->value, v->value_len, &h))
            add_hit(c, &h, v, v->value, v->value_len);
        break;
    case WAF_VAR_URI:
        break; /* its parts are inspected; custom rules see it whole */
    case WAF_VAR_HEADER:
        on_header(c, v);
        break;
    case WAF_VAR_BODY:
        if (v->flags & WAF_VF_XML) { /* split XML: the raw body only for XXE */
            if (waf_detect_misc(v->value, v->value_len, v->place, &h) &&
                (h.cls == WAF_XXE || h.cls == WAF_SSI))
                add_hit(c, &h, v, v->value, v->value_len);
            break;
        }
        if (v->value_len)
            inspect_value(c, v,
                          v->value_len <= c->slot_cap - 1
                              ? waf_charset(v->value, v->value_len)
                              : 0);
        break;
    default:
        on_value(c, v);
        break;
    }
    return 0;
}

static void on_anomaly(void *ctx, unsigned rule, enum waf_class cls, int score,
                       const char *reason, const char *at, size_t len)
{
    struct ctx *c = ctx;
    enum waf_var_kind kind = rule == 921210 ? WAF_VAR_ARG_NAME : WAF_VAR_BODY;
    add(c, rule, cls, score, reason, kind, kind == WAF_VAR_ARG_NAME ? at : "",
        kind == WAF_VAR_ARG_NAME ? len : 0, at, len, 0, len);
}

static const struct waf_header *header(const struct waf_request_view *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (waf_span_ieq(r->headers[i].name, r->headers[i].name_len, name))
            return &r->headers[i];
    return NULL;
}

/* Custom rules on the whole raw body, whatever its type. */
static void body_rules(struct ctx *c, size_t bl)
{
    for (size_t i = 0; i < c->p->nrules; i++) {
        const struct crule *cr = &c->p->rules[i];
        if (cr->kind == WAF_VAR_KIND_COUNT && rule_matches(c, cr, c->r->body, bl))
            add(c, cr->id, WAF_GENERIC, cr->score, "custom rule", WAF_VAR_BODY, "", 0,
                c->r->body, bl, 0, 0);
    }
}

int waf_inspect(const struct waf_policy *p, const struct waf_request_view *r,
                int threshold_override, struct waf_report *out)
{
    memset(out, 0, offsetof(struct waf_report, findings));
    struct waf_request_view safe = *r; /* absent pieces become empty ones */
    if (safe.method == NULL) safe.method = "", safe.method_len = 0;
    if (safe.target == NULL) safe.target = "", safe.target_len = 0;
    if (safe.body == NULL) safe.body = "", safe.body_len = 0;
    if (safe.headers == NULL) safe.nheaders = 0;
    r = &safe;
    int threshold = threshold_override > 0 ? threshold_override : p->threshold;
    struct waf_parts_opts o = {.max_body = p->max_body, .xml = p->xml};
    int over =
        r->body_len > p->max_body || (r->body_truncated && r->body_len >= p->max_body);
    if (over && p->over == WAF_OVER_LIMIT_REJECT) out->over_limit = 1;

    /* scratch: the splitter's area, the normalised path, and the form slots */
    size_t parts = waf_parts_scratch_size(r, &o);
    size_t longest = parts;
    size_t slot = (longest < p->max_arg ? longest : p->max_arg) + 1;
    size_t rx = p->nregex ? parts + 1 : 0;
    size_t total = parts + r->target_len + 1 + (size_t)F_COUNT * slot + rx;
    char *buf = malloc(total);
    if (buf == NULL) return -1;
    struct ctx c = {.p = p, .r = r, .out = out, .slot_cap = slot};
    c.slots = buf + parts + r->target_len + 1;
    c.parts = buf;
    c.parts_cap = parts;
    c.rx = c.slots + (size_t)F_COUNT * slot;
    c.rx_cap = rx;

    /* the normalised path, when an exclusion needs it */
    if (p->nexcl) {
        char *path = buf + parts;
        const char *q = memchr(r->target, '?', r->target_len);
        size_t pl = q ? (size_t)(q - r->target) : r->target_len;
        c.path_len = waf_url_decode(r->target, pl, path, 0, NULL, NULL);
        c.path_len = waf_path_normalize(path, c.path_len, path, 0);
        c.path = path;
    }
    c.host = header(r, "host");
    c.referer = header(r, "referer");

    struct waf_parts_sink sink = {on_var, on_anomaly, &c};
    waf_split_request(r, &o, buf, parts, &sink);
    if (p->nrules && r->body_len)
        body_rules(&c, r->body_len < p->max_body ? r->body_len : p->max_body);
    free(buf);
    return (out->score >= threshold || out->over_limit) ? 1 : 0;
}
