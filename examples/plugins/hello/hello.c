/* hello: a foyer plugin built out of tree against the installed foyer/plugin.h.
 *
 *   plugin "hello" { greeting = "hello from foyer", path = "/path/to/hello.so" }
 *
 * It adds `X-Hello: <greeting>` to every response, counts the requests it saw
 * (`X-Hello-Count`, per worker), answers GET /hello itself, and takes a
 * per-route override: route(...) returning { service = "x", plugins = { hello =
 * { greeting = "hi" } } }. */
#include <foyer/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hello {
    const struct foyer_api *api;
    char greeting[128];
    uint64_t *count;
};

static int hello_init(const struct foyer_api *api, const foyer_conf_t *conf, void **state,
                      char *err, size_t errlen)
{
    const char *greeting = api->conf_string(conf, "greeting");
    if (greeting == NULL) greeting = "hello";
    if (strlen(greeting) >= sizeof ((struct hello *)0)->greeting) {
        snprintf(err, errlen, "greeting is longer than 127 bytes");
        return -1;
    }
    for (const char *p = api->conf_next_key(conf, NULL); p; p = api->conf_next_key(conf, p))
        if (strcmp(p, "greeting") != 0 && strcmp(p, "path") != 0) {
            snprintf(err, errlen, "unknown setting '%s'", p);
            return -1;
        }
    struct hello *h = calloc(1, sizeof *h);
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->api = api;
    snprintf(h->greeting, sizeof h->greeting, "%s", greeting);
    *state = h;
    return 0;
}

static int hello_worker_init(void *state)
{
    struct hello *h = state;
    h->count = h->api->counter("hello", "requests");
    return h->count ? 0 : -1;
}

static void hello_fini(void *state)
{
    free(state);
}

static int hello_request_headers(void *state, foyer_request_t *r)
{
    struct hello *h = state;
    size_t len;
    const char *path = h->api->req_path(r, &len);
    if (h->count) (*h->count)++;
    if (len == 6 && memcmp(path, "/hello", 6) == 0) {
        char body[200];
        int n = snprintf(body, sizeof body, "%s\n", h->greeting);
        h->api->respond(r, 200, "text/plain", body, (size_t)n);
        return FOYER_RESPOND;
    }
    return FOYER_CONTINUE;
}

static int hello_response_headers(void *state, foyer_request_t *r)
{
    struct hello *h = state;
    const foyer_conf_t *route = h->api->route_plugin_conf(r, "hello");
    const char *greeting = route ? h->api->conf_string(route, "greeting") : NULL;
    char count[32];
    snprintf(count, sizeof count, "%llu", (unsigned long long)(h->count ? *h->count : 0));
    h->api->resp_set_header(r, "X-Hello", greeting ? greeting : h->greeting);
    h->api->resp_set_header(r, "X-Hello-Count", count);
    return FOYER_CONTINUE;
}

static const struct foyer_plugin hello_plugin = {
    FOYER_PLUGIN_DESCRIPTOR("hello", "1.0.0"),
    .init = hello_init,
    .worker_init = hello_worker_init,
    .fini = hello_fini,
    .on_request_headers = hello_request_headers,
    .on_response_headers = hello_response_headers,
};

const struct foyer_plugin *foyer_plugin_entry(void)
{
    return &hello_plugin;
}
