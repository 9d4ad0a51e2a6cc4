/* Writing header field lines: the forwarded ones of a parsed head, with the
 * route decision's edits (set/add/remove) applied. Framing and connection
 * fields are the proxy's alone and no edit reaches them. */
#ifndef FOYER_FIELDS_H
#define FOYER_FIELDS_H

#include "http.h"
#include "route.h"

/* Fields that edits must never touch; also the ones foyer writes itself. */
int foyer_field_is_protected(struct foyer_str name);

/* True if a set or remove edit names this field. */
int foyer_edits_touch(const struct foyer_header_edits *e, struct foyer_str name);

/* An upper bound of the bytes foyer_put_fields writes. */
size_t foyer_fields_size(const struct foyer_http_head *h,
                         const struct foyer_header_edits *e);

/* Writes "Name: value\r\n" for every field of h that is not hop-by-hop,
 * replaced, skipped by skip() (may be NULL) or named by a set/remove edit;
 * then the set and add edits. Returns the new end. */
char *foyer_put_fields(char *p, const struct foyer_http_head *h,
                       const struct foyer_header_edits *e, int (*skip)(struct foyer_str));

static inline char *foyer_put(char *p, const void *s, size_t len)
{
    memcpy(p, s, len);
    return p + len;
}
#define FOYER_PUT_LIT(p, lit) foyer_put((p), lit, sizeof(lit) - 1)

/* Decimal without printf. */
char *foyer_put_u64(char *p, uint64_t v);

#endif
