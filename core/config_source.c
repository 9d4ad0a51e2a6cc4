/* The etcd follower's state machine (config_source.h):
 *
 *   RANGE --ok--> WATCH --events--> rebuild, validate, snapshot, apply
 *     |             |--canceled (compaction)--> RANGE
 *     |             '--stream ended / error--> WAIT
 *     '--error--> WAIT --backoff (doubling, capped at retry_max)--> RANGE
 *
 * The keys under the prefix are mirrored in memory. A change foyer can make
 * in place (routes, services without plugin state: config_etcd_change.c) is
 * checked key by key, the snapshot written, the master's own generation
 * changed and the changed keys sent to the workers, which apply just those.
 * Any other change is validated as a whole configuration and applied
 * through the graceful reload, which re-reads everything. A key that makes
 * the configuration invalid keeps the value the running one was built from.
 *
 * etcd's JSON is read with the router's strict JSON reader (lua/json.h): the
 * one JSON parser foyer has, and it needs nothing but a pool. */
#include "config_source.h"
#include "config.h"
#include "config_etcd.h"
#include "etcd_client.h"
#include "etcd_keys.h"
#include "etcd_kvset.h"
#include "json.h"
#include "log.h"
#include "pool.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BACKOFF_MIN 0.2
#define MAX_REFUSED 16 /* keys held back in one change before giving up on it */
#define POOL_BLOCK (64 * 1024)

static struct {
    struct ev_loop *loop;
    const struct foyer_config_source_ops *ops;
    char *file;
    struct foyer_etcd_settings s;
    struct etcd_http *http;
    ev_timer retry;
    double backoff;
    unsigned endpoint;       /* the one in use; the next on failure */
    unsigned first_failures; /* endpoints failed before the first sync */
    int first_done;          /* the first sync succeeded or was given up */
    long long revision;      /* of kvs */
    long long applied;       /* the last revision applied, 0 none */
    struct etcd_kvset kvs;   /* what etcd holds under the prefix */
    struct etcd_kvset good;  /* what the running configuration was built from */
    int have_good;           /* good is known (something was applied) */
    /* keepalive: is the watch still following? (on_keepalive) */
    ev_timer keepalive;
    struct etcd_http *probe;
    long long probe_rev; /* the newest change under the prefix at the last check */
    size_t probe_count;  /* keys under the prefix then */
    unsigned events;     /* watch messages with events since the last check */
} src;

static void begin_range(void);
static void stop_keepalive(void);

static const char *endpoint(void)
{
    return src.s.endpoints[src.endpoint % src.s.nendpoints];
}

/* ---- etcd's JSON ------------------------------------------------------------------ */

/* int64 fields come as strings ("revision": "42"); 0 when absent. */
static long long json_int(const struct json_value *obj, const char *key)
{
    const struct json_value *v =
        obj && obj->type == JSON_OBJECT ? json_get(obj, key) : NULL;
    if (v == NULL) return 0;
    if (v->type == JSON_NUMBER) return (long long)v->u.number;
    if (v->type != JSON_STRING || v->u.str.len == 0 || v->u.str.len > 20) return 0;
    char buf[24];
    memcpy(buf, v->u.str.p, v->u.str.len);
    buf[v->u.str.len] = '\0';
    return strtoll(buf, NULL, 10);
}

/* A base64 field decoded into a fresh string (absent: ""); NULL on error. */
static char *json_b64(const struct json_value *obj, const char *key, size_t *len)
{
    const struct json_value *v = json_get(obj, key);
    size_t in = v && v->type == JSON_STRING ? v->u.str.len : 0;
    char *out = malloc(in / 4 * 3 + 4);
    if (out == NULL) return NULL;
    long n = in ? etcd_base64_decode(v->u.str.p, in, (unsigned char *)out) : 0;
    if (n < 0) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    *len = (size_t)n;
    return out;
}

/* One kv object of a range answer or a watch event into the keys. */
static int take_kv(const struct json_value *kv, int delete)
{
    size_t klen, vlen;
    if (kv == NULL || kv->type != JSON_OBJECT) return -1;
    char *key = json_b64(kv, "key", &klen);
    if (key == NULL) return -1;
    if (delete) {
        etcd_kvset_delete(&src.kvs, key, klen);
        free(key);
        return 0;
    }
    char *value = json_b64(kv, "value", &vlen);
    return etcd_kvset_put(&src.kvs, key, klen, value, vlen);
}

/* The body of a range (watch = 0) or watch-creation request over every key
 * under the prefix. */
static char *prefix_request(int watch)
{
    size_t plen = strlen(src.s.prefix);
    unsigned char end[1024];
    char k64[1400], e64[1400];
    if (plen == 0 || plen >= sizeof end) return NULL;
    memcpy(end, src.s.prefix, plen);
    /* range_end: the prefix with its last byte + 1 (etcd's prefix idiom) */
    size_t elen = plen;
    while (elen > 0 && end[elen - 1] == 0xff)
        elen--;
    if (elen == 0) {
        end[0] = 0;
        elen = 1;
    } else
        end[elen - 1]++;
    etcd_base64_encode((const unsigned char *)src.s.prefix, plen, k64);
    etcd_base64_encode(end, elen, e64);
    char *body = malloc(4096);
    if (body == NULL) return NULL;
    if (watch)
        snprintf(body, 4096,
                 "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\","
                 "\"start_revision\":\"%lld\"}}",
                 k64, e64, src.revision + 1);
    else
        snprintf(body, 4096, "{\"key\":\"%s\",\"range_end\":\"%s\"}", k64, e64);
    return body;
}

/* ---- the snapshot ----------------------------------------------------------------- */

struct text {
    char *p;
    size_t len, cap;
};

static int text_add(struct text *t, const char *p, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *q = realloc(t->p, cap);
        if (q == NULL) return -1;
        t->p = q;
        t->cap = cap;
    }
    memcpy(t->p + t->len, p, n);
    t->len += n;
    t->p[t->len] = '\0';
    return 0;
}

/* s as a JSON string: runs that need no escape (most keys: all of them)
 * are copied whole. */
static int text_json_string(struct text *t, const char *s, size_t len)
{
    int r = text_add(t, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len && r == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != '"' && c != '\\' && c >= 0x20) continue;
        char esc[8];
        if (c < 0x20)
            snprintf(esc, sizeof esc, "\\u%04x", c);
        else
            esc[0] = '\\', esc[1] = (char)c, esc[2] = '\0';
        r = text_add(t, s + run, i - run) || text_add(t, esc, strlen(esc)) ? -1 : 0;
        run = i + 1;
    }
    if (r == 0) r = text_add(t, s + run, len - run);
    return r ? r : text_add(t, "\"", 1);
}

/* Is the value one JSON document? Else err says where it is not. */
static int check_json(const struct etcd_kv *kv, char *err, size_t errlen)
{
    struct foyer_pool *pool = foyer_pool_create(POOL_BLOCK);
    struct json_parser jp;
    struct json_value v;
    if (pool == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_parser_init(&jp, kv->value, kv->value_len, pool);
    int r = json_parse_document(&jp, &v);
    if (r != 0) snprintf(err, errlen, "etcd %.*s: %s", (int)kv->key_len, kv->key, jp.err);
    json_parser_free(&jp);
    foyer_pool_destroy(pool);
    return r;
}

/* Was kv checked already, as a key of the running configuration? */
static int known_good(const struct etcd_kv *kv)
{
    const struct etcd_kv *g =
        src.have_good ? etcd_kvset_get(&src.good, kv->key, kv->key_len) : NULL;
    return g != NULL && g->value_len == kv->value_len &&
           memcmp(g->value, kv->value, kv->value_len) == 0;
}

/* {"revision": N, "prefix": "...", "kvs": [{"key": "...", "value": <JSON>}]}
 * from the foyer keys; other keys are left out with a warning. check: each
 * value new since the running configuration is checked to be JSON (0: the
 * caller checked them). */
static int build_snapshot(const struct etcd_kvset *set, int check, struct text *t,
                          char *err, size_t errlen)
{
    char head[64];
    snprintf(head, sizeof head, "{\"revision\":%lld,\"prefix\":", src.revision);
    int r = text_add(t, head, strlen(head));
    if (r == 0) r = text_json_string(t, src.s.prefix, strlen(src.s.prefix));
    if (r == 0) r = text_add(t, ",\"kvs\":[", 8);
    int first = 1;
    for (size_t i = 0; i < set->n && r == 0; i++) {
        const struct etcd_kv *kv = &set->v[i];
        const char *name;
        size_t name_len;
        if (foyer_etcd_key_kind(src.s.prefix, kv->key, kv->key_len, &name, &name_len) ==
            FOYER_ETCD_OTHER) {
            foyer_warn("etcd %.*s: not %sservices/NAME nor %sroutes/ID, ignored",
                       (int)kv->key_len, kv->key, src.s.prefix, src.s.prefix);
            continue;
        }
        if (check && !known_good(kv) && check_json(kv, err, errlen) != 0) return -1;
        r = text_add(t, first ? "\n{\"key\":" : ",\n{\"key\":", first ? 8 : 9);
        first = 0;
        if (r == 0) r = text_json_string(t, kv->key, kv->key_len);
        if (r == 0) r = text_add(t, ",\"value\":", 9);
        if (r == 0) r = text_add(t, kv->value, kv->value_len);
        if (r == 0) r = text_add(t, "}", 1);
    }
    if (r == 0) r = text_add(t, "]}\n", 3);
    if (r != 0) snprintf(err, errlen, "out of memory");
    return r;
}

/* Written whole or not at all: a new file, synced, then renamed over. */
static int write_snapshot(const struct text *t, char *err, size_t errlen)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", src.s.snapshot, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t off = 0;
    while (fd >= 0 && off < t->len) {
        ssize_t n = write(fd, t->p + off, t->len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        off += (size_t)n;
    }
    int ok = fd >= 0 && off == t->len && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0) ok = 0;
    if (ok && rename(tmp, src.s.snapshot) == 0) return 0;
    snprintf(err, errlen, "cannot write the snapshot %s: %s", src.s.snapshot,
             strerror(errno));
    if (fd >= 0) unlink(tmp);
    return -1;
}

/* keys are what the workers run from now on. */
static void take_good(const struct etcd_kvset *keys)
{
    src.have_good =
        etcd_kvset_copy(&src.good, keys) == 0; /* else: the next loads fully */
    src.applied = src.revision;
}

static int key_cmp(const struct etcd_kv *a, const struct etcd_kv *b)
{
    int c = memcmp(a->key, b->key, a->key_len < b->key_len ? a->key_len : b->key_len);
    return c ? c : (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/* The keys whose values differ from `from` to `to` (both sorted), pointing
 * into them; NULL when out of memory. */
static struct foyer_etcd_change *diff(const struct etcd_kvset *from,
                                      const struct etcd_kvset *to, size_t *n)
{
    struct foyer_etcd_change *ch = malloc((from->n + to->n + 1) * sizeof *ch);
    size_t i = 0, j = 0;
    *n = 0;
    while (ch != NULL && (i < from->n || j < to->n)) {
        int c = i == from->n ? 1 : j == to->n ? -1 : key_cmp(&from->v[i], &to->v[j]);
        const struct etcd_kv *a = c <= 0 ? &from->v[i++] : NULL;
        const struct etcd_kv *b = c >= 0 ? &to->v[j++] : NULL;
        if (a && b && a->value_len == b->value_len &&
            memcmp(a->value, b->value, a->value_len) == 0)
            continue;
        const struct etcd_kv *k = b ? b : a;
        ch[(*n)++] = (struct foyer_etcd_change){k->key, b ? b->value : NULL, k->key_len,
                                                b ? b->value_len : 0};
    }
    return ch;
}

/* Each changed route alone, as the full load would compile it. */
static int check_changes(const struct foyer_etcd_change *ch, size_t n, char *err,
                         size_t errlen)
{
    const char *id;
    size_t id_len;
    for (size_t i = 0; i < n; i++)
        if (ch[i].value != NULL &&
            foyer_etcd_key_kind(src.s.prefix, ch[i].key, ch[i].key_len, &id, &id_len) ==
                FOYER_ETCD_ROUTE &&
            foyer_config_etcd_check_route(&ch[i], err, errlen) != 0)
            return -1;
    return 0;
}

/* good made equal to what the changes lead to, key by key. */
static void update_good(const struct foyer_etcd_change *ch, size_t n)
{
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        if (ch[i].value != NULL)
            ok &= etcd_kvset_put_copy(&src.good, ch[i].key, ch[i].key_len, ch[i].value,
                                      ch[i].value_len) == 0;
        else
            etcd_kvset_delete(&src.good, ch[i].key, ch[i].key_len);
    src.have_good = ok; /* out of memory: unknown, the next change loads fully */
    src.applied = src.revision;
}

/* The change from good to set, applied in place: 0 when done (good is then
 * equal to set), -1 when refused (err names the key), 1 when it needs the full
 * load instead. Costs what changed, plus one comparison of the two sets and
 * the snapshot's write. */
static int try_change(const struct etcd_kvset *set, char *err, size_t errlen)
{
    size_t n;
    if (!src.have_good || src.ops->can_change == NULL) return 1;
    struct foyer_etcd_change *ch = diff(&src.good, set, &n);
    if (ch == NULL || !src.ops->can_change(ch, n)) {
        free(ch);
        return 1;
    }
    struct text t = {0};
    int r = check_changes(ch, n, err, errlen) == 0 &&
                    build_snapshot(set, 0, &t, err, errlen) == 0 &&
                    write_snapshot(&t, err, errlen) == 0
                ? 0
                : -1;
    if (r == 0 && src.ops->change(ch, n, src.applied, src.revision) != 0) r = 1;
    free(t.p);
    if (r == 0) update_good(ch, n);
    free(ch);
    return r;
}

/* Builds, validates and writes the snapshot of set, then applies it; 0, or
 * -1 with the reason (naming the key at fault when one is) in err. */
static int try_apply(const struct etcd_kvset *set, char *err, size_t errlen)
{
    struct text t = {0};
    struct foyer_config *c = NULL;
    int ok =
        build_snapshot(set, 1, &t, err, errlen) == 0 &&
        (c = foyer_config_load_candidate(src.file, t.p, t.len, err, errlen)) != NULL &&
        write_snapshot(&t, err, errlen) == 0;
    free(t.p);
    if (!ok) {
        if (c != NULL) foyer_config_unref(c);
        return -1;
    }
    take_good(set);
    src.ops->apply(c, src.revision);
    return 0;
}

/* "etcd KEY: message" names a key: its length, 0 for another error. */
static size_t key_at_fault(const char *err, const char **key)
{
    if (strncmp(err, "etcd ", 5) != 0) return 0;
    const char *end = strstr(err + 5, ": ");
    *key = err + 5;
    return end ? (size_t)(end - *key) : 0;
}

/* What to build from: etcd's keys, except the refused ones, which keep their
 * last good value (or stay absent). */
static int effective(struct etcd_kvset *out, char **refused, const size_t *lens, size_t n)
{
    if (etcd_kvset_copy(out, &src.kvs) != 0) return -1;
    for (size_t i = 0; i < n; i++) {
        const struct etcd_kv *g = etcd_kvset_get(&src.good, refused[i], lens[i]);
        if (g == NULL)
            etcd_kvset_delete(out, refused[i], lens[i]);
        else if (etcd_kvset_put_copy(out, g->key, g->key_len, g->value, g->value_len))
            return -1;
    }
    return 0;
}

static int known_key(const char *key, size_t len)
{
    return etcd_kvset_get(&src.kvs, key, len) || etcd_kvset_get(&src.good, key, len);
}

/* The keys as they are now, validated as a whole configuration and applied.
 * A key that makes it invalid is refused (logged with the error) and keeps
 * its last good value while the other changes apply; an error no key can be
 * blamed for refuses the whole change. Either way the last good
 * configuration serves until a valid one arrives. */
static void rebuild(void)
{
    char err[2048], *refused[MAX_REFUSED];
    size_t lens[MAX_REFUSED], n = 0;
    for (;;) {
        struct etcd_kvset held = {0}; /* etcd's keys, the refused ones held back */
        const struct etcd_kvset *keys = n > 0 ? &held : &src.kvs; /* none: no copy */
        int r;
        if (n > 0 && effective(&held, refused, lens, n) != 0) {
            snprintf(err, sizeof err, "etcd: out of memory");
            r = -1;
        } else if (n > 0 && src.have_good && etcd_kvset_equal(keys, &src.good)) {
            r = 0; /* only refused keys changed: nothing to apply */
        } else if ((r = try_change(keys, err, sizeof err)) > 0) {
            r = try_apply(keys, err, sizeof err);
        }
        etcd_kvset_clear(&held);
        if (r == 0) break;
        const char *key = NULL;
        size_t len = key_at_fault(err, &key);
        int again = src.have_good && len > 0 && n < MAX_REFUSED && known_key(key, len);
        for (size_t i = 0; again && i < n; i++)
            again = !(lens[i] == len && memcmp(refused[i], key, len) == 0);
        if (!again || (refused[n] = strndup(key, len)) == NULL) {
            foyer_err("%s (etcd revision %lld refused, the running configuration stays)",
                      err, src.revision);
            break;
        }
        lens[n++] = len;
        foyer_err("%s (etcd revision %lld: this key refused, it keeps its last good "
                  "value)",
                  err, src.revision);
    }
    for (size_t i = 0; i < n; i++)
        free(refused[i]);
}

/* ---- reconnecting ----------------------------------------------------------------- */

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    begin_range();
}

/* The next endpoint after a pause that doubles each time, up to retry_max. */
static void schedule_retry(const char *what, const char *why)
{
    stop_keepalive();
    if (src.http != NULL) etcd_http_close(src.http);
    src.http = NULL;
    src.endpoint++;
    foyer_warn("etcd %s: %s: %s; next try in %.1fs (%s)", what,
               src.s.endpoints[(src.endpoint - 1) % src.s.nendpoints], why, src.backoff,
               endpoint());
    ev_timer_set(&src.retry, src.backoff, 0);
    ev_timer_start(src.loop, &src.retry);
    src.backoff = src.backoff * 2 > src.s.retry_max ? src.s.retry_max : src.backoff * 2;
}

/* ---- keepalive -------------------------------------------------------------------- */

/* A watch can stop following without ending: a partition that drops packets
 * keeps the connection open, and a proxy or a stuck etcd may stay silent.
 * So every `keepalive` seconds, while watching, one small range on another
 * connection asks for the newest change under the prefix and the number of
 * keys. It failing (etcd unreachable) abandons the watch for the usual
 * reconnect; the watch not having caught up, a whole interval later, with a
 * revision etcd already reported (or the key count differing twice with no
 * event between) means it is stale: full resync. */
static void stop_keepalive(void)
{
    ev_timer_stop(src.loop, &src.keepalive);
    etcd_http_close(src.probe);
    src.probe = NULL;
}

static void on_probe_error(void *arg, const char *why)
{
    char msg[512];
    (void)arg;
    src.probe = NULL;
    snprintf(msg, sizeof msg, "keepalive check failed (%s)", why);
    schedule_retry("watch", msg);
}

static void on_probe_done(void *arg, int status, const char *body, size_t len)
{
    (void)arg;
    src.probe = NULL;
    struct foyer_pool *pool = foyer_pool_create(POOL_BLOCK);
    struct json_parser jp;
    struct json_value doc;
    if (pool == NULL) return;
    json_parser_init(&jp, body, len, pool);
    int ok =
        status == 200 && json_parse_document(&jp, &doc) == 0 && doc.type == JSON_OBJECT;
    long long newest = 0, count = ok ? json_int(&doc, "count") : 0;
    const struct json_value *kvs = ok ? json_get(&doc, "kvs") : NULL;
    if (kvs && kvs->type == JSON_ARRAY && kvs->u.arr.n > 0)
        newest = json_int(&kvs->u.arr.v[0], "mod_revision");
    json_parser_free(&jp);
    foyer_pool_destroy(pool);
    if (!ok) return on_probe_error(NULL, "unreadable answer");
    int behind = src.probe_rev > src.revision;
    int miscount =
        src.events == 0 && src.probe_count != src.kvs.n && (size_t)count != src.kvs.n;
    src.probe_rev = newest;
    src.probe_count = (size_t)count;
    src.events = 0;
    if (!behind && !miscount) return;
    foyer_warn(
        "etcd %s: the watch stopped following (at revision %lld, etcd has %s); full "
        "resync",
        endpoint(), src.revision, behind ? "newer changes" : "another key count");
    begin_range();
}

static const struct etcd_http_ops probe_ops = {NULL, on_probe_done, on_probe_error};

/* The newest key under the prefix (by modification) and how many there are. */
static void on_keepalive(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    char err[256], body[4200];
    if (src.probe != NULL) return; /* still waiting: its timeout will say */
    char *range = prefix_request(0);
    if (range == NULL) return;
    size_t n = strlen(range);
    snprintf(body, sizeof body,
             "%.*s,\"limit\":1,\"sort_order\":\"DESCEND\",\"sort_target\":\"MOD\","
             "\"keys_only\":true}",
             (int)n - 1, range);
    free(range);
    src.probe = etcd_http_post(src.loop, endpoint(), "/v3/kv/range", body, strlen(body),
                               0, src.s.dial_timeout, &probe_ops, NULL, err, sizeof err);
    if (src.probe == NULL) on_probe_error(NULL, err);
}

static void start_keepalive(void)
{
    if (src.s.keepalive <= 0) return;
    src.probe_rev = 0;
    src.probe_count = src.kvs.n;
    src.events = 0;
    ev_timer_set(&src.keepalive, src.s.keepalive, src.s.keepalive);
    ev_timer_start(src.loop, &src.keepalive);
}

/* ---- the watch -------------------------------------------------------------------- */

static void watch_events(const struct json_value *result)
{
    const struct json_value *events = json_get(result, "events");
    if (events == NULL || events->type != JSON_ARRAY || events->u.arr.n == 0) return;
    src.events++;
    for (size_t i = 0; i < events->u.arr.n; i++) {
        const struct json_value *ev = &events->u.arr.v[i];
        const struct json_value *type = json_get(ev, "type");
        int del = type && type->type == JSON_STRING && type->u.str.len == 6 &&
                  memcmp(type->u.str.p, "DELETE", 6) == 0;
        if (take_kv(json_get(ev, "kv"), del) != 0) {
            foyer_err("etcd: a watch event could not be read; full resync");
            return begin_range();
        }
    }
    long long rev = json_int(json_get(result, "header"), "revision");
    if (rev > src.revision) src.revision = rev;
    rebuild();
}

/* The reason etcd gave for canceling a watch, for the log. */
static void cancel_reason(const struct json_value *result, char *out, size_t len)
{
    const struct json_value *r = json_get(result, "cancel_reason");
    if (r != NULL && r->type == JSON_STRING)
        snprintf(out, len, "watch canceled by etcd: %.*s",
                 (int)(r->u.str.len > 200 ? 200 : r->u.str.len), r->u.str.p);
    else
        snprintf(out, len, "watch canceled by etcd");
}

/* A canceled watch: compaction (its start revision is gone) needs a full
 * range now; any other reason waits for the backoff, so that a watch etcd
 * keeps refusing is not retried in a tight loop. */
static void watch_canceled(const struct json_value *result, long long compacted)
{
    char why[256];
    if (compacted > 0) {
        foyer_warn(
            "etcd: watch canceled, history compacted at revision %lld; full resync",
            compacted);
        return begin_range();
    }
    cancel_reason(result, why, sizeof why);
    schedule_retry("watch", why);
}

static void watch_message(const struct json_value *msg)
{
    const struct json_value *result = json_get(msg, "result");
    if (result == NULL || result->type != JSON_OBJECT)
        return schedule_retry("watch", "etcd answered an error");
    long long compacted = json_int(result, "compact_revision");
    const struct json_value *canceled = json_get(result, "canceled");
    if (compacted > 0 || (canceled && canceled->type == JSON_TRUE))
        return watch_canceled(result, compacted);
    const struct json_value *created = json_get(result, "created");
    if (created && created->type == JSON_TRUE) {
        src.backoff = BACKOFF_MIN; /* etcd answers: the next outage starts afresh */
        start_keepalive();
        foyer_debug("etcd %s: watching %s from revision %lld", endpoint(), src.s.prefix,
                    src.revision + 1);
    }
    watch_events(result);
}

static void on_watch_line(void *arg, const char *line, size_t len)
{
    (void)arg;
    struct foyer_pool *pool = foyer_pool_create(POOL_BLOCK);
    struct json_parser jp;
    struct json_value msg;
    if (pool == NULL) return schedule_retry("watch", "out of memory");
    json_parser_init(&jp, line, len, pool);
    int ok = json_parse_document(&jp, &msg) == 0 && msg.type == JSON_OBJECT;
    if (ok) watch_message(&msg);
    json_parser_free(&jp);
    foyer_pool_destroy(pool);
    if (!ok) schedule_retry("watch", "unreadable message");
}

static void on_watch_error(void *arg, const char *why)
{
    (void)arg;
    src.http = NULL; /* freed by the client */
    schedule_retry("watch", why);
}

/* A stream has no on_done: its end is an error (etcd_client.h). */
static const struct etcd_http_ops watch_ops = {on_watch_line, NULL, on_watch_error};

static void begin_watch(void)
{
    char err[256];
    char *body = prefix_request(1);
    if (body == NULL) return schedule_retry("watch", "out of memory");
    src.http = etcd_http_post(src.loop, endpoint(), "/v3/watch", body, strlen(body), 1,
                              src.s.dial_timeout, &watch_ops, NULL, err, sizeof err);
    free(body);
    if (src.http == NULL) schedule_retry("watch", err);
}

/* ---- the full range --------------------------------------------------------------- */

static int take_range(const char *body, size_t len, char *err, size_t errlen)
{
    struct foyer_pool *pool = foyer_pool_create(POOL_BLOCK);
    struct json_parser jp;
    struct json_value doc;
    int r = -1;
    if (pool == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_parser_init(&jp, body, len, pool);
    if (json_parse_document(&jp, &doc) != 0 || doc.type != JSON_OBJECT) {
        snprintf(err, errlen, "unreadable range answer: %s", jp.err);
    } else {
        const struct json_value *kvs = json_get(&doc, "kvs");
        etcd_kvset_clear(&src.kvs);
        r = 0;
        for (size_t i = 0; kvs && kvs->type == JSON_ARRAY && i < kvs->u.arr.n && !r; i++)
            r = take_kv(&kvs->u.arr.v[i], 0);
        if (r != 0) snprintf(err, errlen, "unreadable key in the range answer");
        src.revision = json_int(json_get(&doc, "header"), "revision");
    }
    json_parser_free(&jp);
    foyer_pool_destroy(pool);
    return r;
}

static void first_sync_failed(const char *why)
{
    if (src.first_done || ++src.first_failures < src.s.nendpoints) return;
    src.first_done = 1;
    src.ops->first_sync_failed(why);
}

static void on_range_error(void *arg, const char *why)
{
    (void)arg;
    src.http = NULL;
    schedule_retry("range", why);
    first_sync_failed(why);
}

static void on_range_done(void *arg, int status, const char *body, size_t len)
{
    char err[512];
    (void)arg;
    src.http = NULL;
    if (status != 200) {
        snprintf(err, sizeof err, "HTTP %d: %.200s", status, body);
        return on_range_error(NULL, err);
    }
    if (take_range(body, len, err, sizeof err) != 0) return on_range_error(NULL, err);
    int first = !src.first_done;
    src.first_done = 1;
    foyer_info("etcd %s: %zu keys under %s at revision %lld", endpoint(), src.kvs.n,
               src.s.prefix, src.revision);
    if (first || src.revision != src.applied) rebuild();
    if (first && src.applied != src.revision) /* refused: start from the snapshot */
        src.ops->first_sync_failed("the keys in etcd could not be applied, see above");
    begin_watch();
}

static const struct etcd_http_ops range_ops = {NULL, on_range_done, on_range_error};

static void begin_range(void)
{
    char err[256];
    stop_keepalive();
    if (src.http != NULL) etcd_http_close(src.http);
    src.http = NULL;
    char *body = prefix_request(0);
    if (body == NULL) return on_range_error(NULL, "out of memory");
    src.http = etcd_http_post(src.loop, endpoint(), "/v3/kv/range", body, strlen(body), 0,
                              src.s.dial_timeout, &range_ops, NULL, err, sizeof err);
    free(body);
    if (src.http == NULL) on_range_error(NULL, err);
}

/* ---- lifetime --------------------------------------------------------------------- */

static int copy_settings(const struct foyer_etcd_settings *from)
{
    src.s = *from;
    src.s.prefix = strdup(from->prefix);
    src.s.snapshot = strdup(from->snapshot);
    src.s.endpoints = calloc(from->nendpoints, sizeof *src.s.endpoints);
    if (src.s.prefix == NULL || src.s.snapshot == NULL || src.s.endpoints == NULL)
        return -1;
    for (unsigned i = 0; i < from->nendpoints; i++)
        if ((src.s.endpoints[i] = strdup(from->endpoints[i])) == NULL) return -1;
    return 0;
}

int foyer_config_source_start(struct ev_loop *loop, const struct foyer_config *c,
                              const struct foyer_config_source_ops *ops)
{
    memset(&src, 0, sizeof src);
    src.loop = loop;
    src.ops = ops;
    src.backoff = BACKOFF_MIN;
    src.applied = c->etcd_revision;
    src.file = strdup(c->file);
    if (src.file == NULL || copy_settings(c->settings.etcd) != 0) {
        foyer_config_source_stop();
        return -1;
    }
    ev_timer_init(&src.retry, on_retry, 0, 0);
    ev_timer_init(&src.keepalive, on_keepalive, 0, 0);
    foyer_info("etcd: following %s under %s (%u endpoint(s))", src.s.endpoints[0],
               src.s.prefix, src.s.nendpoints);
    begin_range();
    return 0;
}

void foyer_config_source_stop(void)
{
    if (src.loop != NULL) {
        ev_timer_stop(src.loop, &src.retry);
        stop_keepalive();
    }
    etcd_http_close(src.http);
    src.http = NULL;
    etcd_kvset_clear(&src.kvs);
    etcd_kvset_clear(&src.good);
    for (unsigned i = 0; src.s.endpoints != NULL && i < src.s.nendpoints; i++)
        free(src.s.endpoints[i]);
    free(src.s.endpoints);
    free(src.s.prefix);
    free(src.s.snapshot);
    free(src.file);
    memset(&src, 0, sizeof src);
}

void foyer_config_source_forget(void)
{
    etcd_http_drop_fd(src.http);
    etcd_http_drop_fd(src.probe);
}
