/*
 * plugins/waf/request_parts.h — splitting a request into the variables the
 * detectors look at (ModSecurity's ARGS, ARGS_NAMES, REQUEST_HEADERS, ...).
 *
 * The splitter decodes one variable at a time into a caller's buffer and hands
 * it to a callback, so a request of any size needs a buffer only as large as
 * its largest raw piece (see waf_parts_scratch_size()). Parse problems that
 * are themselves suspicious (a bad multipart part charset, a malformed
 * parameter name, a missing Content-Type on a body) go to an anomaly callback.
 */
#ifndef FOYER_WAF_REQUEST_PARTS_H
#define FOYER_WAF_REQUEST_PARTS_H

#include <stddef.h>
#include <string.h>

#include "detect.h"
#include "engine.h"

enum waf_var_kind {
    WAF_VAR_METHOD,      /* REQUEST_METHOD */
    WAF_VAR_URI,         /* REQUEST_URI: the raw target */
    WAF_VAR_PATH,        /* REQUEST_PATH: decoded and normalised path */
    WAF_VAR_ARG,         /* ARGS:name (query, form, JSON, multipart, XML) */
    WAF_VAR_ARG_NAME,    /* ARGS_NAMES:name */
    WAF_VAR_HEADER,      /* REQUEST_HEADERS:Name */
    WAF_VAR_COOKIE,      /* REQUEST_COOKIES:name */
    WAF_VAR_COOKIE_NAME, /* REQUEST_COOKIES_NAMES:name */
    WAF_VAR_FILE_NAME,   /* FILES:field (a multipart file name) */
    WAF_VAR_BODY,        /* REQUEST_BODY: a raw body that is not split */
    WAF_VAR_KIND_COUNT
};

/* Flags on a variable. */
enum {
    WAF_VF_BODY = 1,        /* from the body (not the URI) */
    WAF_VF_BAD_PCT = 2,     /* a '%' that starts no escape ("100%", "50%off") */
    WAF_VF_JSON = 4,        /* a JSON string (key or value) */
    WAF_VF_MULTIPART = 8,   /* a multipart field */
    WAF_VF_XML = 16,        /* XML text or attribute; on a BODY: a raw XML body whose
                             * values are reported apart (only XXE is checked on it) */
    WAF_VF_TRUNCATED = 32,  /* the body was cut, this value may be a prefix */
    WAF_VF_STRUCTURED = 64, /* a header whose value has a fixed grammar */
    WAF_VF_ENC_ALNUM = 128, /* percent-encoded letters or digits (needless encoding) */
    WAF_VF_HALF_PCT = 256,  /* a half escape ("%1G", "%7%6F", "%%32"): an evasion */
    WAF_VF_NESTED = 512,    /* a JSON key below the top level */
    WAF_VF_CS = 1024        /* cs holds waf_charset(value) (the splitter had it) */
};

struct waf_var {
    enum waf_var_kind kind;
    enum waf_place place;
    const char *name; /* argument / header / cookie name (decoded); "" if none */
    size_t name_len;
    const char *value; /* decoded once (percent, JSON escapes, ...) */
    size_t value_len;
    unsigned flags;
    unsigned cs; /* with WAF_VF_CS */
};

struct waf_parts_sink {
    /* Called for each variable; the pointers are valid during the call only.
     * A non-zero return stops the split. */
    int (*var)(void *ctx, const struct waf_var *v);
    /* A structural anomaly: rule, class, score, static reason, and the bytes
     * it was seen in (may be a prefix of a variable). */
    void (*anomaly)(void *ctx, unsigned rule, enum waf_class cls, int score,
                    const char *reason, const char *at, size_t len);
    void *ctx;
};

struct waf_parts_opts {
    size_t max_body; /* body bytes looked at */
    int xml;         /* split XML bodies into text and attribute values */
};

/* Bytes of scratch waf_split_request() needs for r. */
size_t waf_parts_scratch_size(const struct waf_request_view *r,
                              const struct waf_parts_opts *o);

/* Splits r; returns 0, or the callback's non-zero value when it stopped. */
int waf_split_request(const struct waf_request_view *r, const struct waf_parts_opts *o,
                      char *buf, size_t cap, const struct waf_parts_sink *sink);

/* The pieces, for tests and for the engine. Each needs cap >= n + 1. */
int waf_split_urlencoded(const char *s, size_t n, unsigned flags, char *buf, size_t cap,
                         const struct waf_parts_sink *sink);
int waf_split_cookies(const char *s, size_t n, char *buf, size_t cap,
                      const struct waf_parts_sink *sink);
/* Returns 0, the callback's value, or -2 when s is not valid JSON (the
 * variables already reported stay reported). Depth is bounded (32). */
int waf_split_json(const char *s, size_t n, unsigned flags, char *buf, size_t cap,
                   const struct waf_parts_sink *sink);
int waf_split_multipart(const char *s, size_t n, const char *boundary, size_t blen,
                        unsigned flags, char *buf, size_t cap,
                        const struct waf_parts_sink *sink);
int waf_split_xml(const char *s, size_t n, unsigned flags, char *buf, size_t cap,
                  const struct waf_parts_sink *sink);

/* Content-Type helpers: the media type (without parameters, trimmed) and a
 * parameter's value (unquoted); 0 when absent. */
size_t waf_media_type(const char *ct, size_t n, const char **type);
size_t waf_ct_param(const char *ct, size_t n, const char *param, const char **val);

/* Case-insensitive comparison of a byte span with a NUL-terminated literal
 * (inline: called for every header name against constant names). */
static inline int waf_span_ieq(const char *s, size_t n, const char *lit)
{
    /* most spans differ in their first byte: test it before strlen (a call
     * when lit is no literal); | 0x20 folds letters, so equal spans pass */
    if (n && ((unsigned char)s[0] | 0x20) != ((unsigned char)lit[0] | 0x20)) return 0;
    if (strlen(lit) != n) return 0; /* folded for literals */
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)s[i], b = (unsigned char)lit[i];
        if (a == b) continue; /* most bytes: no folding */
        /* else equal only as the two cases of one letter */
        a |= 0x20;
        if (a != (b | 0x20) || a < 'a' || a > 'z') return 0;
    }
    return 1;
}

#endif /* FOYER_WAF_REQUEST_PARTS_H */
