/*
 * old: a plugin built for an older minor of the ABI, whose descriptor ends
 * after on_request_headers (size = offsetof(struct foyer_plugin,
 * on_request_body)). foyer must load it and treat every hook beyond its size
 * as absent. To make a violation visible, the fields past the size are not
 * NULL here but traps: each logs "old: TRAP <hook>" and fails the request.
 *
 *   on_request_headers   adds X-Old: yes upstream; answers /old/answer itself
 */
#include <foyer/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct foyer_api *api;

static int init(const struct foyer_api *a, const foyer_conf_t *conf, void **state, char *err,
                size_t errlen)
{
    api = a;
    *state = NULL;
    return 0;
}

static int on_request_headers(void *state, foyer_request_t *r)
{
    size_t len;
    const char *path = api->req_path(r, &len);
    if (len == 11 && memcmp(path, "/old/answer", 11) == 0) {
        api->respond(r, 200, "text/plain", "old plugin\n", 11);
        return FOYER_RESPOND;
    }
    return api->req_set_header(r, "X-Old", "yes") == 0 ? FOYER_CONTINUE : FOYER_ERROR;
}

#define TRAP(hook) api->log("old", FOYER_LOG_ERROR, "TRAP %s", hook)

static int trap_body(void *s, foyer_request_t *r, const char *d, size_t n)
{
    TRAP("body");
    return FOYER_ERROR;
}

static int trap_route(void *s, foyer_request_t *r)
{
    TRAP("route");
    return FOYER_ERROR;
}

static int trap_select(void *s, foyer_request_t *r, const char *svc, const unsigned *tried,
                       unsigned ntried, unsigned *endpoint)
{
    TRAP("select");
    return FOYER_ERROR;
}

static void trap_result(void *s, foyer_request_t *r, const struct foyer_upstream_result *res)
{
    TRAP("result");
}

static void trap_log(void *s, foyer_request_t *r)
{
    TRAP("log");
}

static const struct foyer_plugin desc = {
    .magic = FOYER_PLUGIN_MAGIC,
    .abi_major = FOYER_PLUGIN_ABI_MAJOR,
    .abi_minor = FOYER_PLUGIN_ABI_MINOR,
    .size = offsetof(struct foyer_plugin, on_request_body),
    .name = "old",
    .version = "0.9",
    .init = init,
    .on_request_headers = on_request_headers,
    /* Beyond .size: must be treated as absent. */
    .on_request_body = trap_body,
    .on_route = trap_route,
    .on_upstream_select = trap_select,
    .on_upstream_result = trap_result,
    .on_response_headers = trap_route,
    .on_response_body = trap_body,
    .on_log = trap_log,
};

const struct foyer_plugin *foyer_plugin_entry(void)
{
    return &desc;
}
