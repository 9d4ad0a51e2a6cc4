/*
 * plugins/waf/normalize.h — the WAF's normalisation chain.
 *
 * Attackers hide payloads behind encodings that the application undoes
 * (percent-encoding, HTML entities, JavaScript escapes, SQL comments, quote
 * splitting in shells). Each function here undoes one of them so that a
 * detector sees what the application will see.
 *
 * Common contract: every function reads n bytes from in and writes at most n
 * bytes to out (no transformation ever grows its input), returns the number of
 * bytes written, and works in place (out == in). Any bytes are accepted (NUL,
 * invalid UTF-8); invalid encodings are copied through unchanged. No
 * allocation, no global state, linear time.
 */
#ifndef FOYER_WAF_NORMALIZE_H
#define FOYER_WAF_NORMALIZE_H

#include <stddef.h>

/* URL decoding flags. */
enum {
    WAF_URL_PLUS = 1,     /* '+' means a space (query strings, form bodies) */
    WAF_URL_PERCENT_U = 2 /* IIS-style %uXXXX, written as UTF-8 */
};

/* One pass of percent-decoding; *ndecoded (may be NULL) gets the number of
 * escapes decoded and *ninvalid (may be NULL) the number of '%' that do not
 * start a valid escape (left as is). */
size_t waf_url_decode(const char *in, size_t n, char *out, int flags, size_t *ndecoded,
                      size_t *ninvalid);

/* Decodes until nothing changes, at most 4 passes (double and triple encoding);
 * returns the length, *passes gets the number of passes that decoded something. */
size_t waf_url_decode_full(const char *in, size_t n, char *out, int flags, int *passes);

/* HTML character references: the common named ones (&lt; &gt; &amp; &quot;
 * &apos; &nbsp; &colon; &lpar; &rpar; &sol; &bsol; &tab; &newline; ...),
 * decimal &#60; and hex &#x3c; with or without the trailing ';' and with
 * leading zeros, as browsers accept them. */
size_t waf_html_decode(const char *in, size_t n, char *out);

/* Backslash escapes of JavaScript, C, CSS-less JSON and PHP strings:
 * \xHH, \uHHHH, \u{HHHHHH}, \OOO (octal, 1-3 digits); other escapes
 * (\n, \t, \\ ...) are kept for the detectors that care. */
size_t waf_escape_decode(const char *in, size_t n, char *out);

/* ASCII lower-casing (bytes >= 0x80 untouched). */
size_t waf_lowercase(const char *in, size_t n, char *out);

/* Runs of whitespace (space, \t \n \v \f \r, and 0xA0) become one space. */
size_t waf_compress_ws(const char *in, size_t n, char *out);

/* SQL and C comments: / *...* / becomes a space (an unterminated one runs to
 * the end), MySQL's executable / *!50000 ... * / keeps its content, and "--"
 * and "#" comments run to the end of the line. */
size_t waf_remove_comments(const char *in, size_t n, char *out);

/* Comments deleted outright ("UN/ * * /ION" gives "UNION"): what a filter that
 * strips comments before building a query leaves. "--" and "#" comments are
 * not touched here (waf_remove_comments() handles them). */
size_t waf_strip_inline_comments(const char *in, size_t n, char *out);

/* Path normalisation: '\' becomes '/' (when backslashes is set), "//" folds,
 * "/./" is dropped and "dir/.." is resolved; ".." that would climb above the
 * start stays (a traversal remains visible), so "/a/../../etc" gives
 * "/../etc" and "a/./b//c" gives "a/b/c". */
size_t waf_path_normalize(const char *in, size_t n, char *out, int backslashes);

/* Drops NUL bytes. */
size_t waf_remove_nul(const char *in, size_t n, char *out);

/* Shell de-obfuscation: drops the quotes, backslashes and carets that shells
 * (sh, cmd.exe) ignore inside a word (c''at, c\at, c^md), empty expansions
 * ($@, $*, ${x:0:0} is left) and turns ${IFS} / $IFS / $IFS$9 into a space. */
size_t waf_shell_deobfuscate(const char *in, size_t n, char *out);

/* Character-class summary of a value, for cheap prefilters: a detector
 * whose attack class needs one of a few characters is not run on a value
 * that has none of them. */
enum {
    WAF_CS_SPACE = 1u << 0,    /* ' ' */
    WAF_CS_SLASH = 1u << 1,    /* '/' */
    WAF_CS_COLON = 1u << 2,    /* ':' */
    WAF_CS_SAFEP = 1u << 3,    /* '@' ',' */
    WAF_CS_PCT = 1u << 4,      /* '%' */
    WAF_CS_AMP = 1u << 5,      /* '&' */
    WAF_CS_BSLASH = 1u << 6,   /* '\\' */
    WAF_CS_SQUOTE = 1u << 7,   /* '\'' */
    WAF_CS_CTL = 1u << 8,      /* control bytes incl. NUL, CR, LF, TAB, DEL */
    WAF_CS_HIGH = 1u << 9,     /* bytes >= 0x80 */
    WAF_CS_OTHER = 1u << 10,   /* '!' '?' '~' '^' */
    WAF_CS_NUL = 1u << 11,     /* a NUL byte (also sets WAF_CS_CTL) */
    WAF_CS_PLUS = 1u << 12,    /* '+' */
    WAF_CS_HASH = 1u << 13,    /* '#' */
    WAF_CS_DASH2 = 1u << 14,   /* "--" or "/ *" (comment openers) */
    WAF_CS_DQUOTE = 1u << 15,  /* '"' */
    WAF_CS_BTICK = 1u << 16,   /* '`' */
    WAF_CS_LT = 1u << 17,      /* '<' */
    WAF_CS_GT = 1u << 18,      /* '>' */
    WAF_CS_PAREN = 1u << 19,   /* '(' ')' */
    WAF_CS_SEMI = 1u << 20,    /* ';' */
    WAF_CS_PIPE = 1u << 21,    /* '|' */
    WAF_CS_DOLLAR = 1u << 22,  /* '$' */
    WAF_CS_BRACE = 1u << 23,   /* '{' '}' */
    WAF_CS_BRACKET = 1u << 24, /* '[' ']' */
    WAF_CS_EQ = 1u << 25,      /* '=' */
    WAF_CS_STAR = 1u << 26,    /* '*' */
    WAF_CS_DOT2 = 1u << 27,    /* ".." */
    WAF_CS_DOT = 1u << 28,     /* '.' (alone it still counts as "letters only") */
    WAF_CS_UNDER = 1u << 31    /* '_' (letters only too; spares a search for "__") */
};
#define WAF_CS_QUOTE (WAF_CS_SQUOTE | WAF_CS_DQUOTE | WAF_CS_BTICK)
/* Bits for the byte classes present in s; letters, digits and '-' set
 * none, '.' and '_' set WAF_CS_DOT and WAF_CS_UNDER only (and the pairs "--"
 * and ".." their bits). Values with WAF_CS_WORDY bits only are tokens. */
#define WAF_CS_WORDY (WAF_CS_DOT | WAF_CS_UNDER)
unsigned waf_charset(const char *s, size_t n);

/* waf_charset() in two steps, for a scanner that visits each byte anyway
 * (the JSON splitter): OR waf_cs_byte[] over s, then waf_charset_pairs()
 * adds the pairs ("--", "/ *", "..") and clears the internal bits. */
extern const unsigned waf_cs_byte[256];
#define WAF_CS_DASHED_ (1u << 29) /* internal: a '-' (a "--" may be there) */
#define WAF_CS_DOTTED_ (1u << 30) /* internal: a '.' */
unsigned waf_charset_pairs_slow(const char *s, size_t n, unsigned m);
static inline unsigned waf_charset_pairs(const char *s, size_t n, unsigned m)
{
    if (!(m & (WAF_CS_DASHED_ | WAF_CS_DOTTED_ | WAF_CS_STAR))) return m; /* most */
    return waf_charset_pairs_slow(s, n, m);
}

#endif /* FOYER_WAF_NORMALIZE_H */
