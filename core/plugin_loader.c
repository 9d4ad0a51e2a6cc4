#include "plugin_loader.h"
#include "config.h"
#include "log.h"
#include "plugin_api.h"

#include <dlfcn.h>
#include <foyer/plugin.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FOYER_PLUGINDIR
#define FOYER_PLUGINDIR "/usr/lib/foyer/plugins"
#endif

static const char *plugin_file(struct foyer_config *c, lua_State *L, int conf_idx,
                               const char *name, char *buf, size_t len)
{
    lua_getfield(L, conf_idx, "path");
    const char *explicit_path =
        lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (explicit_path != NULL)
        snprintf(buf, len, "%s", explicit_path);
    else
        snprintf(buf, len, "%s/%s.so",
                 c->settings.plugin_path ? c->settings.plugin_path : FOYER_PLUGINDIR,
                 name);
    lua_pop(L, 1);
    return buf;
}

/* The loader's rules of foyer/plugin.h, each refusal naming both sides. */
static int check_descriptor(const struct foyer_plugin *d, const char *name, char *err,
                            size_t errlen)
{
    if (d == NULL) {
        snprintf(err, errlen, "foyer_plugin_entry() returned no descriptor");
        return -1;
    }
    if (d->magic != FOYER_PLUGIN_MAGIC) {
        snprintf(err, errlen, "bad magic 0x%08x: not a foyer plugin descriptor",
                 d->magic);
        return -1;
    }
    if (d->abi_major != FOYER_PLUGIN_ABI_MAJOR || d->abi_minor > FOYER_PLUGIN_ABI_MINOR) {
        snprintf(err, errlen, "built for plugin ABI %u.%u; this foyer speaks %d.%d",
                 d->abi_major, d->abi_minor, FOYER_PLUGIN_ABI_MAJOR,
                 FOYER_PLUGIN_ABI_MINOR);
        return -1;
    }
    if (d->size < offsetof(struct foyer_plugin, init) || d->name == NULL) {
        snprintf(err, errlen, "descriptor too small (%u bytes)", d->size);
        return -1;
    }
    if (strcmp(d->name, name) != 0) {
        snprintf(err, errlen, "the library calls itself '%s'", d->name);
        return -1;
    }
    return 0;
}

static int open_plugin(struct foyer_plugin_slot *s, char *err, size_t errlen)
{
    s->handle = dlopen(s->path, RTLD_NOW | RTLD_LOCAL);
    if (s->handle == NULL) {
        snprintf(err, errlen, "cannot load: %s", dlerror());
        return -1;
    }
    foyer_plugin_entry_fn entry;
    *(void **)&entry = dlsym(s->handle, FOYER_PLUGIN_ENTRY_SYMBOL);
    if (entry == NULL) {
        snprintf(err, errlen, "%s has no %s symbol: not a foyer plugin", s->path,
                 FOYER_PLUGIN_ENTRY_SYMBOL);
        return -1;
    }
    s->desc = entry();
    return check_descriptor(s->desc, s->name, err, errlen);
}

static struct foyer_plugin_slot *new_slot(struct foyer_config *c)
{
    struct foyer_plugin_slot *n = realloc(c->plugins, (c->nplugins + 1) * sizeof *n);
    if (n == NULL) return NULL;
    c->plugins = n;
    struct foyer_plugin_slot *s = &c->plugins[c->nplugins++];
    memset(s, 0, sizeof *s);
    return s;
}

int foyer_plugin_load(struct foyer_config *c, lua_State *L, const char *name,
                      int conf_idx, const char *where, char *err, size_t errlen)
{
    char path[1024], why[512];
    for (unsigned i = 0; i < c->nplugins; i++)
        if (strcmp(c->plugins[i].name, name) == 0) {
            snprintf(err, errlen, "plugin \"%s\": declared twice", name);
            return -1;
        }
    struct foyer_plugin_slot *s = new_slot(c);
    if (s == NULL || !(s->name = strdup(name)) || !(s->where = strdup(where)) ||
        !(s->path = strdup(plugin_file(c, L, conf_idx, name, path, sizeof path)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (open_plugin(s, why, sizeof why) != 0) {
        snprintf(err, errlen, "plugin \"%s\" (%s): %s", name, s->path, why);
        return -1;
    }
    if (foyer_plugin_call_init(s, L, conf_idx, why, sizeof why) != 0) {
        snprintf(err, errlen, "plugin \"%s\": %s", name, why);
        return -1;
    }
    return 0;
}

void foyer_plugins_worker_init(struct foyer_config *c)
{
    for (unsigned i = 0; i < c->nplugins; i++) {
        struct foyer_plugin_slot *s = &c->plugins[i];
        if (s->worker_ready || s->desc == NULL) continue;
        s->worker_ready = 1;
        int (*fn)(void *) = FOYER_PLUGIN_HOOK(s->desc, worker_init);
        if (fn != NULL && fn(s->state) != 0)
            foyer_err("plugin \"%s\": worker_init failed", s->name);
    }
}

void foyer_plugins_unload(struct foyer_config *c)
{
    for (unsigned i = c->nplugins; i-- > 0;) {
        struct foyer_plugin_slot *s = &c->plugins[i];
        void (*fini)(void *) = s->desc ? FOYER_PLUGIN_HOOK(s->desc, fini) : NULL;
        if (fini != NULL && s->state != NULL) fini(s->state);
        if (s->handle != NULL) dlclose(s->handle);
        free(s->name);
        free(s->path);
        free(s->where);
    }
    free(c->plugins);
    c->plugins = NULL;
    c->nplugins = 0;
}
