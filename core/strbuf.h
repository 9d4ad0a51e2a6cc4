/* A growing text buffer for answers built piece by piece (the admin
 * listener's metrics and status). Running out of memory is remembered and
 * reported once, by foyer_strbuf_take. */
#ifndef FOYER_STRBUF_H
#define FOYER_STRBUF_H

#include <stddef.h>

struct foyer_strbuf {
    char *p;
    size_t len, cap;
    int oom;
};

void foyer_strbuf_printf(struct foyer_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The text (NUL-terminated, the caller frees it) and its length; NULL when
 * memory ran out on the way (the buffer is freed then). */
char *foyer_strbuf_take(struct foyer_strbuf *b, size_t *len);

#endif
