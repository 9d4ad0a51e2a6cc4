/* router.load: a JSON file (a config object, or just the list of routes)
 * compiled into a rule set in one pass. The routes list is walked one route
 * at a time, each parsed into a small tree that is compiled and dropped, so
 * 100k routes never exist as one tree (nor as Lua tables). */
#include "pool.h"
#include "router_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TREE_BLOCK (64 * 1024)

struct load {
    struct json_parser jp;
    struct rt_cc cc;
    struct foyer_pool *pool;
};

static int load_routes(struct load *ld)
{
    struct json_iter it = {0};
    size_t i = 0, mark = rt_path_key(&ld->cc, "routes");
    int r;
    while ((r = json_array_next(&ld->jp, &it)) == 1) {
        struct json_value v;
        if (json_parse_value(&ld->jp, &v) != 0) return -1;
        size_t im = rt_path_index(&ld->cc, i++);
        if (rt_compile_route(&ld->cc, &v) != 0) return -1;
        rt_path_pop(&ld->cc, im);
        foyer_pool_reset(ld->pool);
    }
    rt_path_pop(&ld->cc, mark);
    return r;
}

static int load_object(struct load *ld)
{
    struct json_iter it = {0};
    const char *key;
    size_t len;
    int r, seen_routes = 0;
    while ((r = json_object_next(&ld->jp, &it, &key, &len)) == 1) {
        if (len == 6 && memcmp(key, "routes", 6) == 0) {
            struct json_value at = {.line = 0};
            enum json_type t = json_peek(&ld->jp, &at.line);
            if (seen_routes++) return rt_fail(&ld->cc, &at, "'routes' given twice");
            if (t != JSON_ARRAY)
                return rt_fail(&ld->cc, &at, "routes: expected a list of routes");
            if (load_routes(ld) != 0) return -1;
            continue;
        }
        struct json_value v;
        if (json_parse_value(&ld->jp, &v) != 0) return -1;
        if (rt_compile_setting(&ld->cc, key, len, &v) != 0) return -1;
        foyer_pool_reset(ld->pool);
    }
    return r;
}

struct rt_ruleset *rt_load_json(const char *name, const char *text, size_t len, char *err,
                                size_t errlen)
{
    struct load ld;
    struct rt_ruleset *rs = rt_ruleset_new(name);
    ld.pool = foyer_pool_create(TREE_BLOCK);
    if (rs == NULL || ld.pool == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        foyer_pool_destroy(ld.pool);
        rt_ruleset_unref(rs);
        return NULL;
    }
    json_parser_init(&ld.jp, text, len, ld.pool);
    rt_cc_init(&ld.cc, rs, name, err, errlen);
    unsigned line;
    enum json_type t = json_peek(&ld.jp, &line);
    int r;
    if (t == JSON_OBJECT) {
        r = load_object(&ld);
    } else if (t == JSON_ARRAY) {
        r = load_routes(&ld);
    } else {
        struct json_value at = {.line = line};
        r = rt_fail(&ld.cc, &at,
                    "expected an object (a router config) or a list of routes");
    }
    if (r == 0) r = json_finish(&ld.jp);
    if (r != 0 && ld.jp.err[0] != '\0') snprintf(err, errlen, "%s:%s", name, ld.jp.err);
    json_parser_free(&ld.jp);
    foyer_pool_destroy(ld.pool);
    if (r != 0) {
        rt_ruleset_unref(rs);
        return NULL;
    }
    rt_ruleset_seal(rs);
    return rs;
}

/* The file mapped read-only (the parser only reads it; strings that need
 * unescaping go to its pool): no copy, and the pages go with munmap. */
struct rt_ruleset *rt_load_file(const char *path, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %s", path,
                 fd < 0 || errno ? strerror(errno) : "not a file");
        if (fd >= 0) close(fd);
        return NULL;
    }
    size_t len = (size_t)st.st_size;
    void *text = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : (void *)"";
    close(fd);
    if (text == MAP_FAILED) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (len) madvise(text, len, MADV_SEQUENTIAL);
    struct rt_ruleset *rs = rt_load_json(path, text, len, err, errlen);
    if (len) munmap(text, len);
    return rs;
}
