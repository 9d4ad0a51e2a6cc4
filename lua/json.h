/* A small strict JSON (RFC 8259) reader for router.load.
 *
 * Values are built into a foyer_pool, or a document is walked one object
 * member / array element at a time (json_object_next, json_array_next) so a
 * file of 100k routes never needs its whole tree in memory: the caller parses
 * one element with json_parse_value, uses it, and resets the pool.
 *
 * Strict means: only the RFC grammar (no comments, trailing commas, NaN,
 * single quotes or leading zeros), strings must be valid UTF-8 without raw
 * control characters, escapes are checked (surrogates must pair), duplicate
 * keys in one object are refused, nesting is bounded. A leading UTF-8 BOM is
 * skipped. Errors read "LINE:COLUMN: message" ("LINE: message" for a
 * duplicate member name, at the line of the second one).
 *
 * Strings are (p, len) slices: they point into the text when they hold no
 * escape, else into the pool; they are not NUL-terminated and may contain NUL
 * (from \u0000). Every value records the line it starts on. */
#ifndef FOYER_JSON_H
#define FOYER_JSON_H

#include <stddef.h>

struct foyer_pool;

enum json_type {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
    JSON_OTHER /* not from JSON: a foreign value (u.str describes it) */
};

struct json_member;

struct json_value {
    enum json_type type;
    unsigned line; /* 1-based line of the value's first character; 0 if not from text */
    union {
        double number;
        struct {
            const char *p;
            size_t len;
        } str;
        struct {
            struct json_value *v;
            size_t n;
        } arr;
        struct {
            struct json_member *m;
            size_t n;
        } obj;
    } u;
};

struct json_member {
    const char *key;
    size_t key_len;
    struct json_value value;
};

#define JSON_MAX_DEPTH 64

struct json_parser {
    const char *text, *p, *end;
    const char *line_start;
    unsigned line;
    unsigned depth;
    struct foyer_pool *pool; /* where values and unescaped strings go */
    /* scratch stacks for the children of containers being built */
    struct json_value *vstack;
    size_t vtop, vcap;
    struct json_member *mstack;
    size_t mtop, mcap;
    char err[256];
};

/* Iteration state of one object or array being walked. */
struct json_iter {
    int started;
};

void json_parser_init(struct json_parser *jp, const char *text, size_t len,
                      struct foyer_pool *pool);
void json_parser_free(struct json_parser *jp);

/* Parses the value at the cursor into out (children in jp->pool). 0 or -1. */
int json_parse_value(struct json_parser *jp, struct json_value *out);
/* Parses a whole document: one value, then only whitespace. 0 or -1. */
int json_parse_document(struct json_parser *jp, struct json_value *out);

/* The type the value at the cursor will have (JSON_OTHER if none can start
 * there), and the line it starts on. Skips whitespace. */
enum json_type json_peek(struct json_parser *jp, unsigned *line);

/* Walking: json_object_next returns 1 with the member's key (unescaped, in the
 * pool) and the cursor on its value, which the caller must then consume with
 * json_parse_value or by walking it; 0 after the closing brace; -1 on error.
 * json_array_next likewise for elements. The first call consumes the opening
 * bracket. Keys are not checked for duplicates when walking. */
int json_object_next(struct json_parser *jp, struct json_iter *it, const char **key,
                     size_t *key_len);
int json_array_next(struct json_parser *jp, struct json_iter *it);
/* After the top-level value: 0 if only whitespace remains, else -1. */
int json_finish(struct json_parser *jp);

/* The member of an object named key, NULL if absent. */
const struct json_value *json_get(const struct json_value *obj, const char *key);

/* The line the cursor is on (for errors found by the caller). */
unsigned json_line(const struct json_parser *jp);

#endif
