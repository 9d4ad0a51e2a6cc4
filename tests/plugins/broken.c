/*
 * Deliberately broken plugins for the loader's refusals, one per variant
 * (tests/plugins/local.mk builds this file once per -D flag):
 *
 *   BROKEN_MAJOR   built for the next ABI major          -> refused, both versions named
 *   BROKEN_MINOR   built for a newer minor than foyer's  -> refused, both versions named
 *   BROKEN_NOSYM   no foyer_plugin_entry symbol          -> refused
 *   BROKEN_MAGIC   a descriptor with the wrong magic     -> refused
 *   BROKEN_NAME    calls itself "someone-else"           -> refused under any other name
 *   BROKEN_NULL    foyer_plugin_entry() returns NULL     -> refused
 *   BROKEN_TINY    size smaller than the fixed header    -> refused
 *   BROKEN_INIT    init fails: without `secret` with a message, with
 *                  `quiet = true` without one; loads when secret is given
 *
 * Each descriptor is otherwise valid, so the refusal is for the one reason.
 */
#include <foyer/plugin.h>

#include <stdio.h>
#include <stdlib.h>

#if defined(BROKEN_MAJOR)
#define PNAME "major"
#elif defined(BROKEN_MINOR)
#define PNAME "minor"
#elif defined(BROKEN_NOSYM)
#define PNAME "nosym"
#elif defined(BROKEN_MAGIC)
#define PNAME "magic"
#elif defined(BROKEN_NAME)
#define PNAME "someone-else"
#elif defined(BROKEN_NULL)
#define PNAME "nulldesc"
#elif defined(BROKEN_TINY)
#define PNAME "tiny"
#elif defined(BROKEN_INIT)
#define PNAME "initfail"
#else
#error "define one BROKEN_* variant"
#endif

static int init(const struct foyer_api *api, const foyer_conf_t *conf, void **state, char *err,
                size_t errlen)
{
#ifdef BROKEN_INIT
    int quiet = 0;
    api->conf_bool(conf, "quiet", &quiet);
    if (quiet) return -1; /* no message: foyer must still say something */
    if (api->conf_string(conf, "secret") == NULL) {
        snprintf(err, errlen, "needs a 'secret' setting (a string)");
        return -1;
    }
#endif
    *state = NULL;
    return 0;
}

#ifndef BROKEN_INIT
/* Must never run for a refused plugin. */
static int on_request_headers(void *state, foyer_request_t *r)
{
    return FOYER_ERROR;
}
#endif

#if defined(BROKEN_MAJOR)
#define D_MAJOR (FOYER_PLUGIN_ABI_MAJOR + 1)
#else
#define D_MAJOR FOYER_PLUGIN_ABI_MAJOR
#endif
#if defined(BROKEN_MINOR)
#define D_MINOR (FOYER_PLUGIN_ABI_MINOR + 1)
#else
#define D_MINOR FOYER_PLUGIN_ABI_MINOR
#endif
#if defined(BROKEN_MAGIC)
#define D_MAGIC 0x464f5952u /* "FOYR" the other way round */
#else
#define D_MAGIC FOYER_PLUGIN_MAGIC
#endif
#if defined(BROKEN_TINY)
#define D_SIZE 8
#else
#define D_SIZE sizeof(struct foyer_plugin)
#endif

static const struct foyer_plugin desc = {
    .magic = D_MAGIC,
    .abi_major = D_MAJOR,
    .abi_minor = D_MINOR,
    .size = D_SIZE,
    .name = PNAME,
    .version = "0.0",
    .init = init,
#ifndef BROKEN_INIT
    .on_request_headers = on_request_headers,
#endif
};

#if defined(BROKEN_NOSYM)
/* The entry under another name. */
const struct foyer_plugin *foyer_plugin_entry_v2(void)
{
    return &desc;
}
#elif defined(BROKEN_NULL)
const struct foyer_plugin *foyer_plugin_entry(void)
{
    return (void)desc, NULL;
}
#else
const struct foyer_plugin *foyer_plugin_entry(void)
{
    return &desc;
}
#endif
