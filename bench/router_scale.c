/* bench/router_scale: how foyer.router scales with the number of hosts.
 *
 *   router_scale generate HOSTS FILE [compact|full]   writes a routes file:
 *       HOSTS routes, each one host name with three path prefixes
 *       (/api, /static, /img) to services s0..s9; "full" spells every rule
 *       as Gateway API does (matches/path/type/value, backends), "compact"
 *       uses the shorthand ({ path, service }).
 *   router_scale measure FILE HOSTS [REQUESTS]         in a fresh Lua state,
 *       times router.new(router.load(FILE)), reports the RSS it added (and the
 *       peak), then routes REQUESTS requests for random hosts among the HOSTS
 *       generated and random paths, and reports the CPU time per request.
 *
 * Driven by bench/routes_scale.sh. */
#include "config.h"
#include "lua_state.h"
#include "pool.h"
#include "request.h"
#include "router.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSERVICES 10
#define NDISTINCT 65536 /* distinct requests cycled through */

static const char *const paths[] = {"/api/v1/items", "/static/app.js", "/img/logo.png",
                                    "/nothing/here"};

static int generate(long hosts, const char *file, int full)
{
    static const char *const prefixes[] = {"/api", "/static", "/img"};
    FILE *f = fopen(file, "w");
    if (f == NULL) return perror(file), 1;
    fputs("{\"semantics\":\"gateway\",\"routes\":[\n", f);
    for (long i = 0; i < hosts; i++) {
        fprintf(f, "%s{\"hostnames\":[\"h%ld.example.com\"],\"rules\":[", i ? ",\n" : "",
                i);
        for (int k = 0; k < 3; k++) {
            int svc = (int)((i + k) % NSERVICES);
            if (full)
                fprintf(f,
                        "%s{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"%"
                        "s\"}}],"
                        "\"backends\":[{\"service\":\"s%d\"}]}",
                        k ? "," : "", prefixes[k], svc);
            else
                fprintf(f, "%s{\"path\":\"%s\",\"service\":\"s%d\"}", k ? "," : "",
                        prefixes[k], svc);
        }
        fputs("]}", f);
    }
    fputs("\n]}\n", f);
    return fclose(f) != 0;
}

/* VmRSS or VmHWM of this process, KiB. */
static long status_kb(const char *key)
{
    char line[256];
    long v = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, strlen(key)) == 0)
            v = strtol(line + strlen(key), NULL, 10);
    fclose(f);
    return v;
}

static double now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct foyer_config *services_config(lua_State *L)
{
    struct foyer_config *c = foyer_config_new("bench");
    c->services = calloc(NSERVICES, sizeof *c->services);
    for (int i = 0; i < NSERVICES; i++) {
        char name[8];
        snprintf(name, sizeof name, "s%d", i);
        c->services[i].name = strdup(name);
        c->services[i].where = strdup("bench");
        c->services[i].endpoints = calloc(1, sizeof *c->services[i].endpoints);
        c->services[i].nendpoints = 1;
    }
    c->nservices = NSERVICES;
    foyer_config_index_services(c);
    c->L = L;
    return c;
}

/* Requests for random hosts among the first `hosts` generated names. */
static struct foyer_request *make_requests(long hosts, struct foyer_pool *pool)
{
    struct foyer_request *rs = calloc(NDISTINCT, sizeof *rs);
    srand(1);
    for (int i = 0; i < NDISTINCT; i++) {
        char host[64];
        int n = snprintf(host, sizeof host, "h%ld.example.com", (long)rand() % hosts);
        const char *path = paths[rand() % 4];
        rs[i].pool = pool;
        rs[i].head.method = (struct foyer_str){"GET", 3};
        rs[i].info.host_name =
            (struct foyer_str){foyer_pool_strndup(pool, host, (size_t)n), (size_t)n};
        rs[i].info.path = (struct foyer_str){path, strlen(path)};
        rs[i].scheme = "http";
        rs[i].listen_port = 80;
    }
    return rs;
}

static void route_many(struct foyer_router *rt, long hosts, long requests)
{
    struct foyer_pool *pool = foyer_pool_create(1 << 20);
    struct foyer_request *rs = make_requests(hosts, pool);
    struct foyer_route_decision d;
    long routed = 0;
    for (int i = 0; i < NDISTINCT; i++)
        foyer_router_route(rt, &rs[i], &d); /* warm up */
    double t0 = now(CLOCK_PROCESS_CPUTIME_ID);
    for (long i = 0; i < requests; i++) {
        foyer_router_route(rt, &rs[i & (NDISTINCT - 1)], &d);
        routed += d.service != NULL;
    }
    double cpu = now(CLOCK_PROCESS_CPUTIME_ID) - t0;
    printf(
        "route: %ld requests for random hosts, %.1f ns CPU per request (%.0f%% proxied, "
        "the rest 404)\n",
        requests, cpu * 1e9 / (double)requests,
        100.0 * (double)routed / (double)requests);
    free(rs);
    foyer_pool_destroy(pool);
}

static int measure(const char *file, long hosts, long requests)
{
    char chunk[2048];
    lua_State *L = foyer_lua_state_new(file);
    foyer_router_open(L);
    lua_gc(L, LUA_GCCOLLECT, 0);
    long rss0 = status_kb("VmRSS:"), hwm0 = status_kb("VmHWM:");
    snprintf(chunk, sizeof chunk,
             "local router = require 'foyer.router'\n"
             "R = router.new(router.load('%s'))\n",
             file);
    double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    if (luaL_dostring(L, chunk) != 0) {
        fprintf(stderr, "router_scale: %s\n", lua_tostring(L, -1));
        return 1;
    }
    double t1 = now(CLOCK_MONOTONIC), c1 = now(CLOCK_PROCESS_CPUTIME_ID);
    lua_gc(L, LUA_GCCOLLECT, 0); /* the loaded document's box */
    long rss1 = status_kb("VmRSS:"), hwm1 = status_kb("VmHWM:");
    lua_getglobal(L, "R");
    struct foyer_router *rt = foyer_router_check(L, -1);
    lua_getglobal(L, "tostring");
    lua_pushvalue(L, -2);
    lua_call(L, 1, 1);
    printf("%s\n", lua_tostring(L, -1));
    lua_pop(L, 2);
    printf("compile: router.new(router.load(...)) %.1f ms wall, %.1f ms CPU\n",
           (t1 - t0) * 1e3, (c1 - c0) * 1e3);
    printf("memory: +%.1f MiB RSS after, peak +%.1f MiB during (RSS %.1f MiB)\n",
           (double)(rss1 - rss0) / 1024,
           (double)(hwm1 - (hwm0 > rss0 ? hwm0 : rss0)) / 1024, (double)rss1 / 1024);
    char err[256];
    struct foyer_config *c = services_config(L);
    if (foyer_router_bind(rt, c, err, sizeof err) != 0)
        return fprintf(stderr, "%s\n", err), 1;
    if (requests > 0) route_many(rt, hosts, requests);
    foyer_config_unref(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "generate") == 0)
        return generate(atol(argv[2]), argv[3], argc > 4 && strcmp(argv[4], "full") == 0);
    if (argc >= 4 && strcmp(argv[1], "measure") == 0 && atol(argv[3]) > 0)
        return measure(argv[2], atol(argv[3]), argc > 4 ? atol(argv[4]) : 5000000);
    fprintf(stderr,
            "usage: %s generate HOSTS FILE [compact|full]\n"
            "       %s measure FILE HOSTS [REQUESTS]\n",
            argv[0], argv[0]);
    return 2;
}
