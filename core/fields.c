#include "fields.h"

int foyer_field_is_protected(struct foyer_str n)
{
    if (foyer_http_is_hop_field(n)) return 1;
    switch (n.len) {
    case 4:
        return FOYER_STR_EQ_CI(n, "host");
    case 14:
        return FOYER_STR_EQ_CI(n, "content-length");
    case 17:
        return FOYER_STR_EQ_CI(n, "transfer-encoding");
    }
    return 0;
}

int foyer_edits_touch(const struct foyer_header_edits *e, struct foyer_str name)
{
    if (e == NULL) return 0;
    for (unsigned i = 0; i < e->n; i++)
        if (e->v[i].op != FOYER_HEADER_ADD &&
            foyer_str_eq_ci(e->v[i].name, name.p, name.len))
            return 1;
    return 0;
}

size_t foyer_fields_size(const struct foyer_http_head *h,
                         const struct foyer_header_edits *e)
{
    size_t n = 0;
    for (unsigned i = 0; i < h->nheaders; i++)
        n += h->headers[i].name.len + h->headers[i].value.len + 4;
    for (unsigned i = 0; e != NULL && i < e->n; i++)
        n += e->v[i].name.len + e->v[i].value.len + 4;
    return n;
}

static char *put_field(char *p, struct foyer_str name, struct foyer_str value)
{
    p = foyer_put(p, name.p, name.len);
    p = FOYER_PUT_LIT(p, ": ");
    p = foyer_put(p, value.p, value.len);
    return FOYER_PUT_LIT(p, "\r\n");
}

char *foyer_put_fields(char *p, const struct foyer_http_head *h,
                       const struct foyer_header_edits *e, int (*skip)(struct foyer_str))
{
    for (unsigned i = 0; i < h->nheaders; i++) {
        const struct foyer_http_header *f = &h->headers[i];
        if ((f->flags & (FOYER_HDR_HOP | FOYER_HDR_REPLACED)) ||
            (skip && skip(f->name)) || foyer_edits_touch(e, f->name))
            continue;
        p = put_field(p, f->name, f->value);
    }
    for (unsigned i = 0; e != NULL && i < e->n; i++) {
        const struct foyer_header_edit *ed = &e->v[i];
        if (ed->op == FOYER_HEADER_REMOVE || foyer_field_is_protected(ed->name)) continue;
        p = put_field(p, ed->name, ed->value);
    }
    return p;
}

char *foyer_put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}
