/*
 * plugins/waf/detect.h — the contract between the WAF engine and its detectors.
 *
 * The engine (engine.c) splits a request into variables (the path, each decoded
 * query/form/JSON/multipart argument and its name, headers, cookies), runs the
 * normalisation chain (normalize.c) each detector asks for, and calls the
 * detectors on the normalised forms. A detector looks at one value and says
 * whether it holds an attack of its class. Detectors are pure functions of
 * their input: no allocation that outlives the call, no global state, safe on
 * any bytes (NUL included), linear or near-linear in the input length.
 *
 * Every detector stands for an attack class, never for a list of known strings.
 */
#ifndef FOYER_WAF_DETECT_H
#define FOYER_WAF_DETECT_H

#include <stddef.h>

/* Attack classes; the names match the corpus labels (waf_class_name()). */
enum waf_class {
    WAF_SQLI,
    WAF_XSS,
    WAF_LFI,  /* path traversal / local file inclusion */
    WAF_RFI,  /* remote file inclusion */
    WAF_RCE,  /* OS command injection */
    WAF_PHP,  /* PHP code injection */
    WAF_JAVA, /* Java / expression-language / deserialisation / JNDI */
    WAF_NODE, /* Node.js / JavaScript code injection */
    WAF_SSTI, /* server-side template injection */
    WAF_LDAP,
    WAF_NOSQL,
    WAF_CRLF,     /* header injection / response splitting */
    WAF_PROTOCOL, /* protocol anomalies and smuggling attempts */
    WAF_SCANNER,  /* known scanner signatures */
    WAF_SESSION,  /* session fixation */
    WAF_XXE,
    WAF_SSI,
    WAF_MAIL, /* IMAP/SMTP command injection */
    WAF_GENERIC,
    WAF_CLASS_COUNT
};

/* What a detector found: the rule that fired (a stable number, see rules.md),
 * a short reason, and where in the input it matched. */
struct waf_hit {
    unsigned rule; /* e.g. 942100; unique across detectors */
    enum waf_class cls;
    int score;          /* anomaly score this finding adds (critical 5, error 4,
                         * warning 3, notice 2) */
    const char *reason; /* static string, e.g. "SQL tautology" */
    size_t at, len;     /* the matching span within the input */
};

/* Where a value came from: detectors weigh context (a path, a header and an
 * argument value are not alike: `../` is normal in no argument, `;` is normal
 * in a cookie header). */
enum waf_place {
    WAF_PLACE_PATH,
    WAF_PLACE_QUERY_STRING, /* the raw query string as a whole */
    WAF_PLACE_ARG,          /* a decoded argument value (query, form, JSON, multipart) */
    WAF_PLACE_ARG_NAME,
    WAF_PLACE_HEADER,
    WAF_PLACE_COOKIE,
    WAF_PLACE_BODY /* a raw body of a type that is not split into arguments */
};

/* A detector: 1 and *hit filled when the value is an attack, else 0. */
typedef int (*waf_detector_fn)(const char *s, size_t n, enum waf_place place,
                               struct waf_hit *hit);

int waf_detect_sqli(const char *s, size_t n, enum waf_place place, struct waf_hit *hit);
/* 0 when waf_detect_sqli() cannot fire on s nor on s with its comments
 * removed (waf_remove_comments, waf_strip_inline_comments): no trigger word,
 * no SQL punctuation, no comment opener that cuts off SQL. */
int waf_sqli_possible(const char *s, size_t n);
/* The same, in the engine's gate table (cs: the charset of s, unused). */
int waf_sqli_possible_cs(const char *s, size_t n, unsigned cs);
/* waf_sqli_possible() a byte at a time: the reference its faster form is
 * tested against. */
int waf_sqli_possible_bytes(const char *s, size_t n);
int waf_detect_xss(const char *s, size_t n, enum waf_place place, struct waf_hit *hit);
int waf_detect_lfi(const char *s, size_t n, enum waf_place place, struct waf_hit *hit);
int waf_detect_rfi(const char *s, size_t n, enum waf_place place, struct waf_hit *hit);
int waf_detect_rce(const char *s, size_t n, enum waf_place place, struct waf_hit *hit);
/* 0 when waf_detect_rce() cannot fire on s: no quoting (but quotes inside
 * words, "it's"), substitution, path, "--" option or shell idiom, and no word
 * of the command table. A cheap test that lets the engine skip the detector
 * on prose, and the shell-deobfuscated pass, which such quotes leave alone. */
int waf_rce_possible(const char *s, size_t n);
/* The same answer, cs being waf_charset(s, n) or a superset of it (the
 * engine has it: the byte classes need no second pass). */
int waf_rce_possible_cs(const char *s, size_t n, unsigned cs);
int waf_detect_code(const char *s, size_t n, enum waf_place place,
                    struct waf_hit *hit); /* PHP, Java, Node */
int waf_detect_ssti(const char *s, size_t n, enum waf_place place, struct waf_hit *hit);
int waf_detect_ldap(const char *s, size_t n, enum waf_place place, struct waf_hit *hit);
int waf_detect_nosql(const char *s, size_t n, enum waf_place place, struct waf_hit *hit);
int waf_detect_crlf(const char *s, size_t n, enum waf_place place, struct waf_hit *hit);
int waf_detect_misc(const char *s, size_t n, enum waf_place place,
                    struct waf_hit *hit); /* SSI, XXE, mail, session fixation */

/* Libinjection-style SQL fingerprint of s (at most 5 token types + NUL), for
 * logs and tests; returns 1 when the fingerprint is an injection. */
int waf_sqli_fingerprint(const char *s, size_t n, char fp[8]);

const char *waf_class_name(enum waf_class c);

#endif /* FOYER_WAF_DETECT_H */
