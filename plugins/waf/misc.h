/*
 * plugins/waf/misc.h — the engine's own checks that are not per-value
 * detectors of detect.h: protocol anomalies seen in the request line and
 * headers, scanner signatures, byte-level anomalies of decoded values and the
 * session-id parameter names of session fixation (CRS 943110/943120).
 *
 * Each check fills one waf_hit and returns 1 when it finds something.
 */
#ifndef FOYER_WAF_MISC_H
#define FOYER_WAF_MISC_H

#include <stddef.h>

#include "detect.h"

/* The method token: letters (and '-' '_') only, as real methods are. */
int waf_check_method(const char *m, size_t n, struct waf_hit *hit);

/* Protocol checks of one request header (Range, Request-Range, Content-Type,
 * Accept-Charset, Sec-Fetch-User) and scanner headers / User-Agents. */
int waf_check_header(const char *name, size_t nl, const char *v, size_t vl,
                     struct waf_hit *hit);

/* A scanner's User-Agent (nikto, sqlmap, nessus, nmap, ...). */
int waf_check_scanner_ua(const char *v, size_t vl, struct waf_hit *hit);

/* Byte anomalies of a decoded value: NUL, other control bytes, overlong or
 * impossible UTF-8, look-alike Unicode traversal; in a path also CR/LF. */
int waf_check_bytes(const char *s, size_t n, enum waf_place place, struct waf_hit *hit);

/* A decoded-once value that still holds escapes of characters nobody needs
 * to encode twice (letters, digits, < > \ %, controls, "%2e%2e"). */
int waf_check_double_encoding(const char *s, size_t n, struct waf_hit *hit);

/* A file name (multipart filename, X-Filename header) a web server would
 * execute: .php (also inside, as in x.php.jpg), .jsp, .asp, .cgi,
 * .htaccess... Class by language. */
int waf_check_upload_name(const char *s, size_t n, struct waf_hit *hit);

/* Session-id parameter names (jsessionid, phpsessid, koa:sess, ...). */
int waf_is_session_param(const char *name, size_t n);

/* Whether a charset name is one a form may use (UTF-8, ASCII, ISO-8859-*,
 * windows-125*); defined in request_parts.c. */
int waf_charset_allowed(const char *s, size_t n);

/* Rule numbers of the engine-level checks (the anomalies the engine raises
 * itself from request_parts.h flags). */
enum {
    WAF_RULE_METHOD = 920100,
    WAF_RULE_BAD_PCT = 920220,
    WAF_RULE_ENC_ALNUM = 920240,
    WAF_RULE_DOUBLE_ENC = 920230,
    WAF_RULE_OVERLONG_UTF8 = 920250,
    WAF_RULE_UNICODE_TRAVERSAL = 920260,
    WAF_RULE_NUL = 920270,
    WAF_RULE_CTL = 920271,
    WAF_RULE_C1 = 920272,
    WAF_RULE_PATH_CTL = 921190,
    WAF_RULE_TOO_MANY_ARGS = 920380,
    WAF_RULE_SESSION_FOREIGN = 943110,
    WAF_RULE_SESSION_NOREF = 943120
};

#endif /* FOYER_WAF_MISC_H */
