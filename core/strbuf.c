#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void foyer_strbuf_printf(struct foyer_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    while (!b->oom) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n + 256;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

char *foyer_strbuf_take(struct foyer_strbuf *b, size_t *len)
{
    char *p = b->p;
    if (b->oom || p == NULL) {
        free(p);
        p = NULL;
    }
    *len = p ? b->len : 0;
    *b = (struct foyer_strbuf){0};
    return p;
}
