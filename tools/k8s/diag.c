/* Diagnostics. Everything foyer-k8s cannot translate is said on stderr, never
 * dropped quietly: "file:line: Kind namespace/name: field.path: message".
 * Warnings leave the exit status at 0 (1 with --strict); errors (input that is
 * not valid) make it 2 and no output is written. */
#include "k8s.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned nwarnings, nerrors;
unsigned diag_warnings(void)
{
    return nwarnings;
}

void diag_count_warning(void)
{
    nwarnings++;
}

unsigned diag_errors(void)
{
    return nerrors;
}

void at_init(struct at *a, const struct obj *o)
{
    a->o = o;
    a->len = 0;
    a->path[0] = '\0';
}

static size_t at_append(struct at *a, const char *fmt, const char *s, size_t i)
{
    size_t mark = a->len;
    int n = s ? snprintf(a->path + a->len, sizeof a->path - a->len, fmt, s)
              : snprintf(a->path + a->len, sizeof a->path - a->len, fmt, i);
    if (n > 0) a->len += (size_t)n;
    if (a->len >= sizeof a->path) a->len = sizeof a->path - 1;
    return mark;
}

size_t at_key(struct at *a, const char *key)
{
    return at_append(a, a->len ? ".%s" : "%s", key, 0);
}

size_t at_index(struct at *a, size_t i)
{
    return at_append(a, "[%zu]", NULL, i);
}

void at_pop(struct at *a, size_t mark)
{
    a->len = mark;
    a->path[mark] = '\0';
}

static void say(const char *level, const struct at *a, const struct kn *n,
                const char *fmt, va_list ap)
{
    const struct obj *o = a->o;
    unsigned line = n && n->line ? n->line : o->line;
    fprintf(stderr, "%s:%u: %s%s %s/%s: ", o->file, line, level, o->kind, o->ns, o->name);
    if (a->len) fprintf(stderr, "%s: ", a->path);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void warn_at(const struct at *a, const struct kn *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("", a, n, fmt, ap);
    va_end(ap);
    nwarnings++;
}

void error_at(const struct at *a, const struct kn *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("error: ", a, n, fmt, ap);
    va_end(ap);
    nerrors++;
}

void diag_file(const char *file, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (line)
        fprintf(stderr, "%s:%u: error: ", file, line);
    else
        fprintf(stderr, "%s: error: ", file);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    nerrors++;
}

/* ---- typed getters --------------------------------------------------------------- */

static const char *type_name(const struct kn *n)
{
    static const char *const names[] = {"null",     "a boolean", "a number",
                                        "a string", "a list",    "a mapping"};
    return names[n->type];
}

/* The value at key, or NULL when absent or null; wrong type: reported, NULL. */
static const struct kn *typed(struct at *a, const struct kn *map, const char *key,
                              enum kn_type want, const char *what)
{
    const struct kn *v = kn_get(map, key);
    if (v == NULL || v->type == KN_NULL) return NULL;
    if (v->type == want) return v;
    size_t mark = at_key(a, key);
    error_at(a, v, "expected %s, got %s", what, type_name(v));
    at_pop(a, mark);
    return NULL;
}

const char *get_str(struct at *a, const struct kn *map, const char *key)
{
    const struct kn *v = typed(a, map, key, KN_STR, "a string");
    return v ? v->s : NULL;
}

const struct kn *get_map(struct at *a, const struct kn *map, const char *key)
{
    return typed(a, map, key, KN_MAP, "a mapping");
}

const struct kn *get_seq(struct at *a, const struct kn *map, const char *key)
{
    return typed(a, map, key, KN_SEQ, "a list");
}

int get_int(struct at *a, const struct kn *map, const char *key, long min, long max,
            long *out)
{
    const struct kn *v = typed(a, map, key, KN_NUM, "an integer");
    if (v == NULL) return kn_get(map, key) && kn_get(map, key)->type != KN_NULL ? -1 : 0;
    char *end;
    long x = strtol(v->s, &end, 10);
    if (*end != '\0' || x < min || x > max) {
        size_t mark = at_key(a, key);
        error_at(a, v, "expected an integer from %ld to %ld, got %s", min, max, v->s);
        at_pop(a, mark);
        return -1;
    }
    *out = x;
    return 1;
}

void check_fields(struct at *a, const struct kn *map, const char *const *known)
{
    if (map == NULL || map->type != KN_MAP) return;
    for (size_t i = 0; i < map->n; i++) {
        const char *const *k = known;
        while (*k != NULL && strcmp(*k, map->k[i]) != 0)
            k++;
        if (*k != NULL) continue;
        size_t mark = at_key(a, map->k[i]);
        warn_at(a, kn_key(map, map->k[i]), "not supported (ignored)");
        at_pop(a, mark);
    }
}
