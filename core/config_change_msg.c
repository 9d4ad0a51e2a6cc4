/* The message carrying an etcd change from the master to each worker
 * (config_source.h). Text headers, raw keys and values: a route is JSON and
 * needs no escaping this way, and a worker can check every length against
 * the message it received before using it. */
#include "config_source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "foyer-change 1 "

char *foyer_change_msg_encode(const struct foyer_etcd_change *ch, size_t n,
                              long long base, long long revision, size_t *len)
{
    size_t cap = 64;
    for (size_t i = 0; i < n; i++)
        cap += 48 + ch[i].key_len + (ch[i].value ? ch[i].value_len : 0);
    char *msg = malloc(cap), *p = msg;
    if (msg == NULL) return NULL;
    p += sprintf(p, MAGIC "%lld %lld %zu\n", base, revision, n);
    for (size_t i = 0; i < n; i++) {
        if (ch[i].value != NULL)
            p += sprintf(p, "%zu %zu\n", ch[i].key_len, ch[i].value_len);
        else
            p += sprintf(p, "%zu -1\n", ch[i].key_len);
        memcpy(p, ch[i].key, ch[i].key_len);
        p += ch[i].key_len;
        if (ch[i].value != NULL) memcpy(p, ch[i].value, ch[i].value_len);
        if (ch[i].value != NULL) p += ch[i].value_len;
    }
    *len = (size_t)(p - msg);
    return msg;
}

/* A decimal number ending at '\n' or ' ' within [*p, end): -1 on error. */
static int number(const char **p, const char *end, char stop, long long *out)
{
    char buf[24];
    size_t i = 0;
    while (*p < end && **p != stop && i < sizeof buf - 1)
        buf[i++] = *(*p)++;
    if (*p >= end || **p != stop || i == 0) return -1;
    (*p)++;
    buf[i] = '\0';
    char *e;
    errno = 0;
    *out = strtoll(buf, &e, 10);
    return *e != '\0' || errno != 0 ? -1 : 0;
}

int foyer_change_msg_decode(const char *msg, size_t len, struct foyer_etcd_change **ch,
                            size_t *n, long long *base, long long *revision)
{
    const char *p = msg, *end = msg + len;
    long long count, klen, vlen;
    *ch = NULL;
    if (len < sizeof MAGIC - 1 || memcmp(msg, MAGIC, sizeof MAGIC - 1) != 0) return -1;
    p += sizeof MAGIC - 1;
    if (number(&p, end, ' ', base) || number(&p, end, ' ', revision) ||
        number(&p, end, '\n', &count) || count < 0 || (size_t)count > len)
        return -1;
    struct foyer_etcd_change *v = calloc((size_t)count + 1, sizeof *v);
    if (v == NULL) return -1;
    for (long long i = 0; i < count; i++) {
        if (number(&p, end, ' ', &klen) || number(&p, end, '\n', &vlen) || klen < 0 ||
            vlen < -1 || klen > end - p || (vlen > 0 && vlen > end - p - klen))
            goto bad;
        v[i] = (struct foyer_etcd_change){p, vlen >= 0 ? p + klen : NULL, (size_t)klen,
                                          vlen >= 0 ? (size_t)vlen : 0};
        p += klen + (vlen > 0 ? vlen : 0);
    }
    if (p != end) goto bad;
    *ch = v;
    *n = (size_t)count;
    return 0;
bad:
    free(v);
    return -1;
}
