/*
 * A small JSON document model for the e2e tests: parses the test backend's
 * reports and the shared routing corpus, builds router configurations and
 * writes them back as JSON (for router.load) or as a Lua table literal.
 *
 * Objects keep their keys in order (duplicates are kept, lookups return the
 * first). Strings are byte strings: "\u00XX" escapes below 0x100 decode to
 * that byte (how the backend reports non-ASCII bytes), higher code points to
 * UTF-8. Everything is malloc'd; e2e_json_free releases a whole tree.
 */
#ifndef FOYER_E2E_JSON_H
#define FOYER_E2E_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum e2e_jtype { EJ_NULL, EJ_BOOL, EJ_NUM, EJ_STR, EJ_ARR, EJ_OBJ };

struct e2e_json {
    enum e2e_jtype type;
    bool b;
    double num;
    char *str; /* EJ_STR: NUL-terminated (may also contain NULs: see len) */
    size_t len;
    struct e2e_json **items; /* EJ_ARR, EJ_OBJ: values */
    char **keys;             /* EJ_OBJ: keys, parallel to items */
    size_t n, cap;
};

/* Parses text[0..len); NULL on error with a message in err. */
struct e2e_json *e2e_json_parse(const char *text, size_t len, char *err, size_t errlen);
/* Parses a whole file. */
struct e2e_json *e2e_json_parse_file(const char *path, char *err, size_t errlen);
void e2e_json_free(struct e2e_json *j);

/* Lookups: NULL when j is not an object/array or the member is absent. */
const struct e2e_json *e2e_json_get(const struct e2e_json *j, const char *key);
const struct e2e_json *e2e_json_at(const struct e2e_json *j, size_t i);
/* The member's string, NULL if absent or not a string. */
const char *e2e_json_str(const struct e2e_json *j, const char *key);
/* The member's number, or dflt if absent or not a number. */
double e2e_json_num(const struct e2e_json *j, const char *key, double dflt);
bool e2e_json_is(const struct e2e_json *j, enum e2e_jtype t);
/* Number of items of an array or object (0 otherwise or if NULL). */
size_t e2e_json_len(const struct e2e_json *j);

/* Builders. The set/push functions take ownership of v. */
struct e2e_json *e2e_json_new(enum e2e_jtype t);
struct e2e_json *e2e_json_new_str(const char *s);
struct e2e_json *e2e_json_new_num(double n);
struct e2e_json *e2e_json_new_bool(bool b);
struct e2e_json *e2e_json_copy(const struct e2e_json *j);
void e2e_json_set(struct e2e_json *obj, const char *key, struct e2e_json *v);
void e2e_json_push(struct e2e_json *arr, struct e2e_json *v);

/* Writers. Lua output is a table constructor (objects as { ["k"] = v },
 * arrays as { v, v }, null as nil — so avoid nulls in arrays). */
void e2e_json_write(FILE *f, const struct e2e_json *j);
void e2e_json_write_lua(FILE *f, const struct e2e_json *j, int indent);

#endif
