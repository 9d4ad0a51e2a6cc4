#include "config.h"
#include "log.h"
#include "log_format.h"
#include "plugin_loader.h"

#include <lauxlib.h>
#include <lua.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

void foyer_settings_defaults(struct foyer_settings *s)
{
    memset(s, 0, sizeof *s);
    s->workers = 0;
    s->client_header_timeout = 30;
    s->client_body_timeout = 60;
    s->keepalive_timeout = 75;
    s->upstream_connect_timeout = 5;
    s->upstream_read_timeout = 60;
    s->upstream_send_timeout = 60;
    s->client_send_timeout = 60;
    s->tunnel_idle_timeout = 3600;
    s->grace_period = 30;
    s->max_header_bytes = 32768;
    s->max_headers = 100;
    s->max_body_bytes = 0;
    s->max_connections = 16384;
    s->keepalive_requests = 10000;
    s->upstream_keepalive = 1024;
    s->lua_instruction_limit = 10000000;
    s->lua_memory_limit = 256u << 20;
}

struct foyer_config *foyer_config_new(const char *file)
{
    struct foyer_config *c = calloc(1, sizeof *c);
    if (c == NULL) return NULL;
    c->refs = 1;
    c->file = strdup(file);
    c->route_ref = LUA_NOREF;
    foyer_settings_defaults(&c->settings);
    if (c->file == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

const char *foyer_settings_request_id(const struct foyer_settings *s)
{
    if (s->request_id_off) return NULL;
    return s->request_id ? s->request_id : "X-Request-Id";
}

void foyer_config_ref(struct foyer_config *c)
{
    c->refs++;
}

static void free_settings(struct foyer_settings *s)
{
    free(s->access_log);
    free(s->access_log_format);
    free(s->request_id);
    free(s->admin);
    free(s->error_log);
    free(s->lua_path);
    free(s->log_level);
    free(s->pid_file);
    free(s->plugin_path);
    foyer_etcd_settings_free(s->etcd);
}

void foyer_config_unref(struct foyer_config *c)
{
    if (c == NULL || --c->refs > 0) return;
    foyer_plugins_unload(c); /* their fini may still look at the Lua state */
    if (c->L != NULL) lua_close(c->L);
    for (unsigned i = 0; i < c->nservices; i++) {
        free(c->services[i].name);
        free(c->services[i].where);
        free(c->services[i].endpoints);
    }
    free(c->services);
    for (unsigned i = 0; i < c->nretired; i++)
        free(c->retired[i]);
    free(c->retired);
    free(c->service_index);
    free(c->pending);
    for (unsigned i = 0; i < c->nlistens; i++)
        free(c->listens[i].where);
    free(c->listens);
    free_settings(&c->settings);
    foyer_log_format_free(c->log_format);
    free(c->file);
    free(c);
    malloc_trim(0); /* a generation is large and rare: give its pages back */
}

static unsigned hash_name(const char *s, size_t len)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

int foyer_config_index_services(struct foyer_config *c)
{
    unsigned size = 8;
    while (size < c->nservices * 2)
        size <<= 1;
    free(c->service_index);
    c->service_index = malloc(size * sizeof *c->service_index);
    if (c->service_index == NULL) {
        c->index_size = 0; /* no lookup reads the freed index */
        return -1;
    }
    c->index_size = size;
    for (unsigned i = 0; i < size; i++)
        c->service_index[i] = UINT32_MAX;
    for (unsigned i = 0; i < c->nservices; i++) {
        const char *n = c->services[i].name;
        unsigned h = hash_name(n, strlen(n)) & (size - 1);
        while (c->service_index[h] != UINT32_MAX)
            h = (h + 1) & (size - 1);
        c->service_index[h] = i;
    }
    return 0;
}

struct foyer_service *foyer_config_service(const struct foyer_config *c, const char *name,
                                           size_t len)
{
    if (c->index_size == 0) return NULL;
    unsigned mask = c->index_size - 1;
    for (unsigned h = hash_name(name, len) & mask;; h = (h + 1) & mask) {
        unsigned i = c->service_index[h];
        if (i == UINT32_MAX) return NULL;
        struct foyer_service *s = &c->services[i];
        if (strncmp(s->name, name, len) == 0 && s->name[len] == '\0') return s;
    }
}

void foyer_config_apply_logging(const struct foyer_settings *s)
{
    const char *lv = s->log_level ? s->log_level : "info";
    if (strcmp(lv, "error") == 0)
        foyer_log_level = FOYER_LOG_ERR;
    else if (strcmp(lv, "warn") == 0)
        foyer_log_level = FOYER_LOG_WARN;
    else if (strcmp(lv, "debug") == 0)
        foyer_log_level = FOYER_LOG_DEBUG;
    else
        foyer_log_level = FOYER_LOG_INFO;
    foyer_log_open_error(s->error_log);
}

void foyer_etcd_settings_free(struct foyer_etcd_settings *e)
{
    if (e == NULL) return;
    for (unsigned i = 0; i < e->nendpoints; i++)
        free(e->endpoints[i]);
    free(e->endpoints);
    free(e->prefix);
    free(e->snapshot);
    free(e);
}
