/*
 * End-to-end tests of the plugin ABI (foyer/plugin.h): the loader's refusals,
 * the hello example (built in tree by `make check` and out of tree with its
 * own Makefile), a descriptor of an older size, and allhooks.so, which uses
 * every hook and every API call, observed through real HTTP requests to a
 * real foyer in front of real backends. Reload and error paths included.
 *
 * The plugins are built by tests/plugins/local.mk into tests/plugins/.libs,
 * found next to $FOYER_BIN.
 */
#include "../e2e/harness.h"

#include <foyer/plugin.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define T_MS 5000

/* ---- helpers ------------------------------------------------------------ */

/* tests/plugins/.libs/NAME.so of the build tree (4 live results). */
static const char *so(const char *name)
{
    static char buf[4][PATH_MAX];
    static int next;
    char *b = buf[next++ % 4];
    const char *bin = e2e_env("FOYER_BIN");
    const char *slash = strrchr(bin, '/');
    if (slash)
        snprintf(b, PATH_MAX, "%.*s/tests/plugins/.libs/%s.so", (int)(slash - bin), bin, name);
    else
        snprintf(b, PATH_MAX, "tests/plugins/.libs/%s.so", name);
    REQUIREF(access(b, R_OK) == 0, "plugin %s not built: %s", b, strerror(errno));
    return b;
}

/* The directory of so(): for plugin_path. */
static const char *so_dir(void)
{
    static char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", so("hello"));
    *strrchr(dir, '/') = 0;
    return dir;
}

/* Writes text to NAME in the temp dir and runs `foyer -t -c` on it. */
static int check_conf(const char *name, const char *text, char *out, size_t outlen)
{
    const char *path = e2e_path(name);
    REQUIRE(e2e_write_file(path, text));
    char *argv[] = {(char *)e2e_env("FOYER_BIN"), "-t", "-c", (char *)path, NULL};
    return e2e_run(argv, out, outlen, 10000);
}

/* "NAME:LINE: plugin \"PLUGIN\"" somewhere in out; the message after it in *rest. */
static bool plugin_error_at(const char *out, const char *file, int line, const char *plugin,
                            const char **rest)
{
    char want[256];
    snprintf(want, sizeof(want), "%s:%d: plugin \"%s\"", file, line, plugin);
    const char *p = strstr(out, want);
    if (rest)
        *rest = p ? p + strlen(want) : "";
    return p != NULL;
}

/* A response header's value, "" when absent (4 live results). */
static const char *hdr(const struct e2e_resp *r, const char *name)
{
    static char buf[4][1024];
    static int next;
    char *b = buf[next++ % 4];
    if (!e2e_resp_header(r, name, b, 1024))
        b[0] = 0;
    return b;
}

/* A field of the head the backend's /headers echoed, "" when absent. */
static const char *echoed(const struct e2e_resp *r, const char *name)
{
    static char buf[4][1024];
    static int next;
    char *b = buf[next++ % 4];
    if (!r->body || !e2e_head_field(r->body, name, b, 1024))
        b[0] = 0;
    return b;
}

static bool log_has(const struct e2e_foyer *f, const char *needle)
{
    char *log = e2e_read_file(f->errlog);
    bool found = log && strstr(log, needle);
    free(log);
    return found;
}

static int count_in_log(const struct e2e_foyer *f, const char *needle)
{
    char *log = e2e_read_file(f->errlog);
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    free(log);
    return n;
}

/* The single worker of a foyer started with workers = 1. */
static pid_t the_worker(const struct e2e_foyer *f)
{
    pid_t w[4];
    int n = e2e_foyer_workers(f, w, 4);
    return n == 1 ? w[0] : -1;
}

/* GET with Host and extra fields on a fresh connection; returns the status. */
static int get(int port, const char *host, const char *target, const char *extra,
               struct e2e_resp *r)
{
    memset(r, 0, sizeof(*r));
    int rc = e2e_http(port, "GET", host, target, extra, r, T_MS);
    return rc == 1 ? r->status : -1;
}

/* ---- the loader's refusals ------------------------------------------------ */

struct refusal {
    const char *plugin;  /* name in the config */
    const char *file;    /* .so name */
    const char *extra;   /* more settings */
    const char *want[3]; /* substrings of the message after the prefix */
};

E2E_TEST(refuses_broken_plugins, 60)
{
    char major[32], minor[32], speaks[32];
    snprintf(major, sizeof(major), "%d.%d", FOYER_PLUGIN_ABI_MAJOR + 1, FOYER_PLUGIN_ABI_MINOR);
    snprintf(minor, sizeof(minor), "%d.%d", FOYER_PLUGIN_ABI_MAJOR, FOYER_PLUGIN_ABI_MINOR + 1);
    snprintf(speaks, sizeof(speaks), "%d.%d", FOYER_PLUGIN_ABI_MAJOR, FOYER_PLUGIN_ABI_MINOR);
    const struct refusal cases[] = {
        {"major", "major", "", {major, speaks, NULL}},
        {"minor", "minor", "", {minor, speaks, NULL}},
        {"nosym", "nosym", "", {FOYER_PLUGIN_ENTRY_SYMBOL, NULL}},
        {"magic", "magic", "", {"magic", NULL}},
        {"misnamed", "misnamed", "", {"someone-else", NULL}},
        {"nulldesc", "nulldesc", "", {"descriptor", NULL}},
        {"tiny", "tiny", "", {"small", NULL}},
        {"initfail", "initfail", "", {"needs a 'secret' setting (a string)", NULL}},
        /* A name the library does not claim, even though the file is fine. */
        {"hello2", "hello", "", {"'hello'", NULL}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct refusal *c = &cases[i];
        char text[12288], out[4096], file[64];
        snprintf(file, sizeof(file), "refuse_%s.lua", c->plugin);
        snprintf(text, sizeof(text),
                 "listen \"127.0.0.1:%d\"\n"
                 "service \"app\" { endpoints = { \"127.0.0.1:9\" } }\n"
                 "plugin \"%s\" { path = \"%s\"%s }\n"
                 "route(function(req) return \"app\" end)\n",
                 e2e_free_port(), c->plugin, so(c->file), c->extra);
        int rc = check_conf(file, text, out, sizeof(out));
        CHECKF(rc == 1, "%s: foyer -t exited %d, want 1: %s", c->plugin, rc, out);
        const char *rest;
        if (!CHECKF(plugin_error_at(out, file, 3, c->plugin, &rest),
                    "%s: want \"%s:3: plugin \\\"%s\\\" ...\", got: %s", c->plugin, file, c->plugin,
                    out))
            continue;
        for (int k = 0; k < 3 && c->want[k]; k++)
            CHECKF(strstr(rest, c->want[k]) != NULL, "%s: message lacks \"%s\": %s", c->plugin,
                   c->want[k], out);
    }
}

E2E_TEST(init_failure_without_message_still_explained, 30)
{
    char text[12288], out[4096];
    snprintf(text, sizeof(text),
             "listen \"127.0.0.1:%d\"\n"
             "service \"app\" { endpoints = { \"127.0.0.1:9\" } }\n"
             "plugin \"initfail\" { path = \"%s\", quiet = true }\n"
             "route(function(req) return \"app\" end)\n",
             e2e_free_port(), so("initfail"));
    CHECK_INT(check_conf("quiet.lua", text, out, sizeof(out)), 1);
    const char *rest;
    CHECKF(plugin_error_at(out, "quiet.lua", 3, "initfail", &rest), "got: %s", out);
    CHECKF(strlen(rest) > 3, "no reason given: %s", out);
    /* With the setting it asked for, the same plugin loads. */
    snprintf(text, sizeof(text),
             "listen \"127.0.0.1:%d\"\n"
             "service \"app\" { endpoints = { \"127.0.0.1:9\" } }\n"
             "plugin \"initfail\" { path = \"%s\", secret = \"s3cr3t\" }\n"
             "route(function(req) return \"app\" end)\n",
             e2e_free_port(), so("initfail"));
    int rc = check_conf("secret.lua", text, out, sizeof(out));
    CHECKF(rc == 0, "foyer -t exited %d: %s", rc, out);
}

E2E_TEST(refuses_missing_and_foreign_files, 30)
{
    char text[12288], out[4096];
    /* No such file. */
    const char *missing = e2e_path("nothere.so");
    snprintf(text, sizeof(text),
             "listen \"127.0.0.1:%d\"\n"
             "service \"app\" { endpoints = { \"127.0.0.1:9\" } }\n"
             "plugin \"nothere\" { path = \"%s\" }\n"
             "route(function(req) return \"app\" end)\n",
             e2e_free_port(), missing);
    CHECK_INT(check_conf("missing.lua", text, out, sizeof(out)), 1);
    const char *rest;
    CHECKF(plugin_error_at(out, "missing.lua", 3, "nothere", &rest), "got: %s", out);
    CHECKF(strstr(out, missing) != NULL, "the path is not named: %s", out);
    /* Not a shared object at all. */
    const char *junk = e2e_path("junk.so");
    REQUIRE(e2e_write_file(junk, "this is not an ELF file\n"));
    snprintf(text, sizeof(text),
             "listen \"127.0.0.1:%d\"\n"
             "service \"app\" { endpoints = { \"127.0.0.1:9\" } }\n"
             "plugin \"junk\" { path = \"%s\" }\n"
             "route(function(req) return \"app\" end)\n",
             e2e_free_port(), junk);
    CHECK_INT(check_conf("junk.lua", text, out, sizeof(out)), 1);
    CHECKF(plugin_error_at(out, "junk.lua", 3, "junk", &rest), "got: %s", out);
    /* plugin_path without the file: the path tried is named. */
    snprintf(text, sizeof(text),
             "listen \"127.0.0.1:%d\"\n"
             "set { plugin_path = \"%s\" }\n"
             "service \"app\" { endpoints = { \"127.0.0.1:9\" } }\n"
             "plugin \"absent\" { }\n"
             "route(function(req) return \"app\" end)\n",
             e2e_free_port(), so_dir());
    CHECK_INT(check_conf("absent.lua", text, out, sizeof(out)), 1);
    char want[PATH_MAX + 16];
    snprintf(want, sizeof(want), "%s/absent.so", so_dir());
    CHECKF(plugin_error_at(out, "absent.lua", 4, "absent", NULL) && strstr(out, want),
           "want absent.lua:4 naming %s, got: %s", want, out);
}

E2E_TEST(duplicate_names_refused, 30)
{
    char text[12288], out[4096];
    snprintf(text, sizeof(text),
             "listen \"127.0.0.1:%d\"\n"
             "service \"app\" { endpoints = { \"127.0.0.1:9\" } }\n"
             "plugin \"hello\" { path = \"%s\" }\n"
             "plugin \"hello\" { path = \"%s\", greeting = \"again\" }\n"
             "route(function(req) return \"app\" end)\n",
             e2e_free_port(), so("hello"), so("hello"));
    CHECK_INT(check_conf("dup.lua", text, out, sizeof(out)), 1);
    CHECKF(plugin_error_at(out, "dup.lua", 4, "hello", NULL), "want dup.lua:4, got: %s", out);
    /* Different files, same name: still one name, one plugin. */
    snprintf(text, sizeof(text),
             "listen \"127.0.0.1:%d\"\n"
             "set { plugin_path = \"%s\" }\n"
             "service \"app\" { endpoints = { \"127.0.0.1:9\" } }\n"
             "plugin \"hello\" { }\n"
             "plugin \"hello\" { path = \"%s\" }\n"
             "route(function(req) return \"app\" end)\n",
             e2e_free_port(), so_dir(), e2e_path("elsewhere.so"));
    CHECK_INT(check_conf("dup2.lua", text, out, sizeof(out)), 1);
    CHECKF(plugin_error_at(out, "dup2.lua", 5, "hello", NULL), "want dup2.lua:5, got: %s", out);
}

/* A real start stops on the same refusal, with the same message. */
E2E_TEST(broken_plugin_stops_start, 30)
{
    char text[12288], out[4096];
    int port = e2e_free_port();
    snprintf(text, sizeof(text),
             "listen \"127.0.0.1:%d\"\n"
             "service \"app\" { endpoints = { \"127.0.0.1:9\" } }\n"
             "plugin \"major\" { path = \"%s\" }\n"
             "route(function(req) return \"app\" end)\n",
             port, so("major"));
    const char *path = e2e_path("start.lua");
    REQUIRE(e2e_write_file(path, text));
    char *argv[] = {(char *)e2e_env("FOYER_BIN"), "-c", (char *)path, NULL};
    int rc = e2e_run(argv, out, sizeof(out), 10000);
    CHECKF(rc == 1, "foyer exited %d, want 1: %s", rc, out);
    CHECKF(plugin_error_at(out, "start.lua", 3, "major", NULL), "got: %s", out);
}

/* ---- hello ------------------------------------------------------------------ */

static void start_hello(struct e2e_foyer *f, int port, const char *plugin_line)
{
    e2e_foyer_start(f,
                    "set { workers = 1 }\n"
                    "service \"app\" { endpoints = { \"127.0.0.1:%d\" } }\n"
                    "%s\n"
                    "route(function(req)\n"
                    "  if req.path == \"/greet\" then\n"
                    "    return { service = \"app\", plugins = { hello = { greeting = \"hi from this route\" } } }\n"
                    "  end\n"
                    "  return \"app\"\n"
                    "end)\n",
                    port, plugin_line);
}

/* X-Hello, X-Hello-Count and /hello, on one foyer. */
static void check_hello(const struct e2e_foyer *f, const char *greeting)
{
    struct e2e_resp r;
    CHECK_INT(get(f->port, "example.com", "/x", NULL, &r), 200);
    CHECK_STR(hdr(&r, "X-Hello"), greeting);
    CHECK_STR(hdr(&r, "X-Hello-Count"), "1");
    CHECK_STR(r.body, "app GET /x\n"); /* the body is the backend's */
    e2e_resp_free(&r);
    CHECK_INT(get(f->port, "example.com", "/y", NULL, &r), 200);
    CHECK_STR(hdr(&r, "X-Hello-Count"), "2");
    e2e_resp_free(&r);
    /* /hello is answered by the plugin, and counted. */
    CHECK_INT(get(f->port, "example.com", "/hello", NULL, &r), 200);
    char want[256];
    snprintf(want, sizeof(want), "%s\n", greeting);
    CHECK_STR(r.body, want);
    CHECK_STR(hdr(&r, "Content-Type"), "text/plain");
    e2e_resp_free(&r);
    CHECK_INT(get(f->port, "example.com", "/greet", NULL, &r), 200);
    CHECK_STR(hdr(&r, "X-Hello"), "hi from this route");
    CHECK_STR(hdr(&r, "X-Hello-Count"), "4");
    CHECK_STR(r.body, "app GET /greet\n");
    e2e_resp_free(&r);
}

E2E_TEST(hello_from_path, 30)
{
    struct e2e_backend be = e2e_backend_start("app");
    struct e2e_foyer f;
    char line[PATH_MAX + 128];
    snprintf(line, sizeof(line), "plugin \"hello\" { path = \"%s\", greeting = \"hello from test\" }",
             so("hello"));
    start_hello(&f, be.port, line);
    check_hello(&f, "hello from test");
    CHECK_INT(e2e_backend_requests(be.port), 3); /* /hello never reached it */
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

E2E_TEST(hello_default_greeting_and_bad_setting, 30)
{
    struct e2e_backend be = e2e_backend_start("app");
    struct e2e_foyer f;
    char line[PATH_MAX + 128];
    snprintf(line, sizeof(line), "plugin \"hello\" { path = \"%s\" }", so("hello"));
    start_hello(&f, be.port, line);
    struct e2e_resp r;
    CHECK_INT(get(f.port, "example.com", "/x", NULL, &r), 200);
    CHECK_STR(hdr(&r, "X-Hello"), "hello");
    e2e_resp_free(&r);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
    /* Its own validation reaches the operator with the line. */
    char text[12288], out[4096];
    snprintf(text, sizeof(text),
             "listen \"127.0.0.1:%d\"\n"
             "service \"app\" { endpoints = { \"127.0.0.1:9\" } }\n"
             "plugin \"hello\" { path = \"%s\", greting = \"typo\" }\n"
             "route(function(req) return \"app\" end)\n",
             e2e_free_port(), so("hello"));
    CHECK_INT(check_conf("typo.lua", text, out, sizeof(out)), 1);
    const char *rest;
    CHECKF(plugin_error_at(out, "typo.lua", 3, "hello", &rest) && strstr(rest, "greting"),
           "got: %s", out);
}

E2E_TEST(plugin_path_finds_name_so, 30)
{
    struct e2e_backend be = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1, plugin_path = \"%s\" }\n"
                    "service \"app\" { endpoints = { \"127.0.0.1:%d\" } }\n"
                    "plugin \"hello\" { greeting = \"found on plugin_path\" }\n"
                    "route(function(req) return \"app\" end)\n",
                    so_dir(), be.port);
    struct e2e_resp r;
    CHECK_INT(get(f.port, "example.com", "/x", NULL, &r), 200);
    CHECK_STR(hdr(&r, "X-Hello"), "found on plugin_path");
    e2e_resp_free(&r);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

/* The example's own Makefile, against the source tree's header, in a copy of
 * the directory (the source tree stays clean); the result loads. */
E2E_TEST(hello_builds_out_of_tree, 120)
{
    const char *src = e2e_env("FOYER_SRCDIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", e2e_path("hello-oot"));
    /* A clean environment for the inner make: no jobserver or variables of
     * the `make check` running us. (chmod: distcheck's source tree is
     * read-only, and so would the copy be.) */
    unsetenv("MAKEFLAGS");
    unsetenv("MFLAGS");
    unsetenv("MAKELEVEL");
    unsetenv("MAKEOVERRIDES");
    unsetenv("CFLAGS");
    char script[4 * PATH_MAX];
    snprintf(script, sizeof(script),
             "set -e; cp -R '%s/examples/plugins/hello' '%s'; chmod -R u+w '%s'; cd '%s'; "
             "rm -f hello.so; make clean; make FOYER_CFLAGS='-I%s/core/include'",
             src, dir, dir, dir, src);
    char *argv[] = {"/bin/sh", "-c", script, NULL};
    char out[16384];
    int rc = e2e_run(argv, out, sizeof(out), 60000);
    REQUIREF(rc == 0, "out-of-tree build failed (%d): %s", rc, out);
    CHECKF(strstr(out, "warning") == NULL, "the example builds with warnings: %s", out);
    char so_path[PATH_MAX + 16];
    snprintf(so_path, sizeof(so_path), "%s/hello.so", dir);
    REQUIREF(access(so_path, R_OK) == 0, "no %s after make: %s", so_path, out);

    struct e2e_backend be = e2e_backend_start("app");
    struct e2e_foyer f;
    char line[2 * PATH_MAX];
    snprintf(line, sizeof(line), "plugin \"hello\" { path = \"%s\", greeting = \"built out of tree\" }",
             so_path);
    start_hello(&f, be.port, line);
    check_hello(&f, "built out of tree");
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

/* ---- an older, smaller descriptor -------------------------------------------- */

E2E_TEST(older_descriptor_loads_without_later_hooks, 30)
{
    struct e2e_backend be = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n"
                    "service \"app\" { endpoints = { \"127.0.0.1:%d\" } }\n"
                    "plugin \"old\" { path = \"%s\" }\n"
                    "route(function(req) return \"app\" end)\n",
                    be.port, so("old"));
    struct e2e_resp r;
    /* The hook inside its size runs. */
    CHECK_INT(get(f.port, "example.com", "/headers", NULL, &r), 200);
    CHECK_STR(echoed(&r, "X-Old"), "yes");
    e2e_resp_free(&r);
    CHECK_INT(get(f.port, "example.com", "/old/answer", NULL, &r), 200);
    CHECK_STR(r.body, "old plugin\n");
    e2e_resp_free(&r);
    /* None past it does: a body both ways, a response, a log line. */
    memset(&r, 0, sizeof(r));
    CHECK_INT(e2e_http(f.port, "POST", "example.com", "/sink", "Content-Length: 5\r\n\r\nhello",
                       &r, T_MS), 1);
    CHECK_INT(r.status, 200);
    e2e_resp_free(&r);
    CHECK_INT(get(f.port, "example.com", "/chunked/10000", NULL, &r), 200);
    CHECK_INT(r.body_total, 10000);
    e2e_resp_free(&r);
    e2e_sleep_ms(100);
    CHECKF(!log_has(&f, "TRAP"), "a hook beyond the descriptor's size was called");
    if (log_has(&f, "TRAP"))
        e2e_foyer_dump_log(&f);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

/* ---- allhooks ------------------------------------------------------------------ */

struct world {
    struct e2e_backend b[3];
    int dead; /* a port nobody listens on */
    struct e2e_foyer f;
};

#define ALLHOOKS_CONF                                                                      \
    "set { workers = 1%s }\n"                                                             \
    "service \"app\" { endpoints = { \"127.0.0.1:%d\" } }\n"                              \
    "service \"pool\" { endpoints = { \"127.0.0.1:%d\", \"127.0.0.1:%d\",\n"               \
    "                   { address = \"127.0.0.1:%d\", weight = 3, backup = true } },\n"    \
    "                   allhooks_endpoint = 2 }\n"                                         \
    "service \"flaky\" { endpoints = { \"127.0.0.1:%d\", \"127.0.0.1:%d\" },\n"            \
    "                    allhooks_endpoint = 0 }\n"                                        \
    "plugin \"allhooks\" {\n"                                                             \
    "  path = \"%s\",\n"                                                                  \
    "  tag = \"%s\", park_ms = 150, verbose = true,\n"                                    \
    "  deny_path = \"/forbidden\", deny_clients = { \"127.0.0.2\" },\n"                   \
    "  add = { { name = \"X-Added-One\", value = \"1\" }, { name = \"X-Added-Two\", value = \"2\" } },\n" \
    "  nested = { inner = { deep = \"down here\" } },\n"                                   \
    "  extra = { k1 = 1.5, k2 = true, k3 = \"three\" },\n"                                 \
    "  numbers = { 7, 2.5, \"s\" },\n"                                                     \
    "}\n"                                                                                  \
    "route(function(req)\n"                                                               \
    "  if req.host == \"pool.test\" then\n"                                                \
    "    return { service = \"pool\", hash_key = \"key-\" .. req.path,\n"                 \
    "             plugins = { allhooks = { label = \"pool-route\" } } }\n"                 \
    "  elseif req.host == \"pick1.test\" then\n"                                           \
    "    return { service = \"pool\", plugins = { allhooks = { label = \"pick\", endpoint = 1 } } }\n" \
    "  elseif req.host == \"flaky.test\" then\n"                                           \
    "    return \"flaky\"\n"                                                               \
    "  end\n"                                                                              \
    "  return { service = \"app\", plugins = { allhooks = { label = \"app-route\" } } }\n" \
    "end)\n"

static char *allhooks_conf(const struct world *w, const char *extra_set, const char *tag)
{
    char *text = malloc(16384);
    REQUIRE(text);
    snprintf(text, 16384, "listen \"127.0.0.1:%d\"\n" ALLHOOKS_CONF, w->f.port, extra_set,
             w->b[0].port, w->b[0].port, w->b[1].port, w->b[2].port, w->dead, w->b[1].port,
             so("allhooks"), tag);
    return text;
}

static void start_world(struct world *w, const char *extra_set)
{
    w->b[0] = e2e_backend_start("b0");
    w->b[1] = e2e_backend_start("b1");
    w->b[2] = e2e_backend_start("b2");
    w->dead = e2e_free_port();
    int port = e2e_free_port();
    w->f.port = port;
    char *text = allhooks_conf(w, extra_set, "gen1");
    e2e_foyer_start_conf(&w->f, "allhooks.lua", port, text, NULL);
    free(text);
}

E2E_TEST(allhooks_request_and_response_fields, 30)
{
    struct world w;
    start_world(&w, "");
    /* the port accepts before the worker is up: from its init on, the
     * repeating timer (every 20 ms) ticks meanwhile */
    REQUIRE(e2e_foyer_log_wait(&w.f, "worker_init tag=gen1 worker=0/1", T_MS));
    e2e_sleep_ms(100);
    struct e2e_resp r;
    CHECK_INT(get(w.f.port, "Example.COM:8080", "/headers?q=1",
                  "X-Test: hello\r\nX-Remove-Me: please\r\n"
                  "X-Backend-Response-Header: X-Backend-Secret: s\r\n"
                  "X-Backend-Response-Header: X-Backend-Other: o\r\n",
                  &r),
              200);
    /* What the backend received. */
    CHECK_STR(echoed(&r, "X-All-Tag"), "gen1");
    CHECK_STR(echoed(&r, "X-All-Seen"),
              "method=GET path=/headers query=q=1 host=example.com client=127.0.0.1 x-test=hello");
    CHECK_STR(echoed(&r, "X-All-Worker"), "0/1");
    CHECK_STR(echoed(&r, "X-All-Label"), "app-route");
    CHECK_STR(echoed(&r, "X-All-Service"), "app");
    CHECK_STR(echoed(&r, "X-All-Hash"), "-");
    CHECK_STR(echoed(&r, "X-Added-One"), "1");
    CHECK_STR(echoed(&r, "X-Added-Two"), "2");
    CHECK_STR(echoed(&r, "X-All-Resumed"), "");
    CHECK_INT(e2e_head_count(r.body, "X-Remove-Me"), 0);
    CHECK_STR(echoed(&r, "X-Test"), "hello");
    char eps[128];
    snprintf(eps, sizeof(eps), "127.0.0.1:%d|%d|w1|b0", w.b[0].port, w.b[0].port);
    CHECK_STR(echoed(&r, "X-All-Endpoints"), eps);
    /* What the client got. */
    CHECK_STR(hdr(&r, "X-Backend"), "b0");
    CHECK_STR(hdr(&r, "X-All-Tag"), "gen1");
    CHECK_STR(hdr(&r, "X-All-Conf"),
              "tag=gen1 park_ms=150 verbose=1 deny=1 add=2 deep=down here "
              "extra=k1:1.5,k2:true,k3:'three' absent=1");
    CHECK_STR(hdr(&r, "X-All-Status"), "200");
    char result[256];
    snprintf(result, sizeof(result),
             "service=app endpoint=0 address=127.0.0.1:%d status=200 err=0 timeout=0 latency_ms=",
             w.b[0].port);
    CHECKF(strncmp(hdr(&r, "X-All-Result"), result, strlen(result)) == 0,
           "X-All-Result: %s, want %s...", hdr(&r, "X-All-Result"), result);
    CHECK_STR(hdr(&r, "X-All-Select"), "-1 tried=0");
    CHECK_STR(hdr(&r, "X-All-Req-Bytes"), "0");
    CHECK_STR(hdr(&r, "X-All-Count"), "1");
    CHECKF(atoi(hdr(&r, "X-All-Ticks")) >= 1, "the repeating timer ticked %s times",
           hdr(&r, "X-All-Ticks"));
    CHECK_STR(hdr(&r, "X-All-Parked-Ms"), "-1");
    /* req_set_header too late, respond too late, a protected, a bad name, a
     * bad value, another plugin's storage, a NULL request: all refused. */
    CHECK_STR(hdr(&r, "X-All-Api"), "-1,-1,0,-1,-1,-1,-1,-1");
    CHECK_STR(hdr(&r, "X-Backend-Secret"), ""); /* removed by the plugin */
    CHECK_STR(hdr(&r, "X-Backend-Other"), "o");
    CHECK_STR(hdr(&r, "X-After-Head"), "");
    e2e_resp_free(&r);
    /* The counter is per worker and persists. */
    CHECK_INT(get(w.f.port, "example.com", "/x", NULL, &r), 200);
    CHECK_STR(hdr(&r, "X-All-Count"), "2");
    e2e_resp_free(&r);
    /* A route with a hash key. */
    CHECK_INT(get(w.f.port, "pool.test", "/headers", NULL, &r), 200);
    CHECK_STR(echoed(&r, "X-All-Hash"), "key-/headers");
    CHECK_STR(echoed(&r, "X-All-Label"), "pool-route");
    CHECK_STR(echoed(&r, "X-All-Service"), "pool");
    snprintf(eps, sizeof(eps), "127.0.0.1:%d|%d|w1|b0,127.0.0.1:%d|%d|w1|b0,127.0.0.1:%d|%d|w3|b1",
             w.b[0].port, w.b[0].port, w.b[1].port, w.b[1].port, w.b[2].port, w.b[2].port);
    CHECK_STR(echoed(&r, "X-All-Endpoints"), eps);
    e2e_resp_free(&r);
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

E2E_TEST(allhooks_answers_403_from_request_headers, 30)
{
    struct world w;
    start_world(&w, "");
    struct e2e_resp r;
    CHECK_INT(get(w.f.port, "example.com", "/forbidden", NULL, &r), 403);
    CHECK_STR(r.body, "denied by allhooks\n");
    CHECK_STR(hdr(&r, "Content-Type"), "text/plain");
    e2e_resp_free(&r);
    /* Only that path. */
    CHECK_INT(get(w.f.port, "example.com", "/forbidden/not", NULL, &r), 200);
    e2e_resp_free(&r);
    CHECK_INT(e2e_backend_requests(w.b[0].port), 1);
    /* A keep-alive connection carries on after the plugin's answer. */
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, w.f.port));
    REQUIRE(e2e_send_str(&c, "GET /forbidden HTTP/1.1\r\nHost: example.com\r\n\r\n", T_MS));
    memset(&r, 0, sizeof(r));
    CHECK_INT(e2e_read_response(&c, &r, T_MS), 1);
    CHECK_INT(r.status, 403);
    e2e_resp_free(&r);
    REQUIRE(e2e_send_str(&c, "GET /x HTTP/1.1\r\nHost: example.com\r\n\r\n", T_MS));
    memset(&r, 0, sizeof(r));
    CHECK_INT(e2e_read_response(&c, &r, T_MS), 1);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "b0 GET /x\n");
    e2e_resp_free(&r);
    e2e_conn_close(&c);
    /* The log hook saw both 403s. */
    CHECKF(e2e_foyer_log_wait(&w.f, "log path=/forbidden status=403", T_MS),
           "on_log did not report the 403");
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

E2E_TEST(allhooks_park_and_resume, 40)
{
    struct world w;
    start_world(&w, "");
    struct e2e_resp r;
    /* Parked by on_request_headers, resumed by a timer after 150 ms. */
    int64_t t0 = e2e_now_ms();
    CHECK_INT(get(w.f.port, "example.com", "/headers", "X-Park: 150\r\n", &r), 200);
    int64_t took = e2e_now_ms() - t0;
    CHECKF(took >= 140, "answered after %lld ms, before the timer", (long long)took);
    CHECK_STR(echoed(&r, "X-All-Resumed"), "yes");
    CHECK_STR(echoed(&r, "X-All-Tag"), "gen1"); /* fields set before parking survive */
    CHECKF(atoi(hdr(&r, "X-All-Parked-Ms")) >= 140, "X-All-Parked-Ms: %s",
           hdr(&r, "X-All-Parked-Ms"));
    e2e_resp_free(&r);
    /* The configured park_ms (150), from the path. */
    t0 = e2e_now_ms();
    CHECK_INT(get(w.f.port, "example.com", "/park", NULL, &r), 200);
    took = e2e_now_ms() - t0;
    CHECKF(took >= 140, "answered after %lld ms", (long long)took);
    CHECK_STR(r.body, "b0 GET /park\n");
    e2e_resp_free(&r);
    /* A longer park, from the path. */
    t0 = e2e_now_ms();
    CHECK_INT(get(w.f.port, "example.com", "/park/400", NULL, &r), 200);
    took = e2e_now_ms() - t0;
    CHECKF(took >= 390, "answered after %lld ms", (long long)took);
    CHECK_STR(r.body, "b0 GET /park/400\n");
    e2e_resp_free(&r);
    /* Resumed from an io watcher. */
    CHECK_INT(get(w.f.port, "example.com", "/headers", "X-Park: io\r\n", &r), 200);
    CHECK_STR(echoed(&r, "X-All-Resumed"), "yes");
    e2e_resp_free(&r);
    /* Parked, then answered from the timer: the backend never sees it. */
    long before = e2e_backend_requests(w.b[0].port);
    CHECK_INT(get(w.f.port, "example.com", "/parkdeny", NULL, &r), 401);
    CHECK_STR(r.body, "denied after a wait\n");
    e2e_resp_free(&r);
    CHECK_INT(e2e_backend_requests(w.b[0].port), before);

    /* Parked in on_route (after the route decision), resumed by a timer. */
    t0 = e2e_now_ms();
    CHECK_INT(get(w.f.port, "pool.test", "/headers", "X-Park: route:150\r\n", &r), 200);
    took = e2e_now_ms() - t0;
    CHECKF(took >= 140, "answered after %lld ms", (long long)took);
    CHECK_STR(echoed(&r, "X-All-Label"), "pool-route"); /* set before parking */
    CHECKF(atoi(hdr(&r, "X-All-Parked-Ms")) >= 140, "X-All-Parked-Ms: %s",
           hdr(&r, "X-All-Parked-Ms"));
    CHECK_STR(hdr(&r, "X-Backend"), "b2"); /* select ran after the resume */
    e2e_resp_free(&r);
    /* Resumed with FOYER_ERROR: 500, and the next request is fine. */
    CHECK_INT(get(w.f.port, "example.com", "/x", "X-Park: error\r\n", &r), 500);
    e2e_resp_free(&r);
    CHECK_INT(get(w.f.port, "example.com", "/x", NULL, &r), 200);
    e2e_resp_free(&r);
    /* A body waits with its head, and is all read after the resume. */
    memset(&r, 0, sizeof(r));
    CHECK_INT(e2e_http(w.f.port, "POST", "example.com", "/sink",
                       "X-Park: 100\r\nContent-Length: 11\r\n\r\nhello world", &r, T_MS),
              1);
    CHECK_INT(r.status, 200);
    CHECKF(r.body && strncmp(r.body, "bytes=11 ", 9) == 0, "backend: %s", r.body);
    CHECK_STR(hdr(&r, "X-All-Req-Bytes"), "11");
    e2e_resp_free(&r);
    /* Several parked at once, each resumed by its own timer. */
    struct e2e_conn c[6];
    for (int i = 0; i < 6; i++) {
        REQUIRE(e2e_conn_open(&c[i], w.f.port));
        char req[128];
        snprintf(req, sizeof(req), "GET /park/%d HTTP/1.1\r\nHost: example.com\r\n\r\n",
                 300 - 40 * i);
        REQUIRE(e2e_send_str(&c[i], req, T_MS));
    }
    for (int i = 0; i < 6; i++) {
        memset(&r, 0, sizeof(r));
        CHECK_INT(e2e_read_response(&c[i], &r, T_MS), 1);
        CHECK_INT(r.status, 200);
        char want[64];
        snprintf(want, sizeof(want), "b0 GET /park/%d\n", 300 - 40 * i);
        CHECK_STR(r.body, want);
        e2e_resp_free(&r);
    }
    /* Keep-alive and pipelining across a park: answers in order. */
    REQUIRE(e2e_send_str(&c[0],
                         "GET /park/200 HTTP/1.1\r\nHost: example.com\r\n\r\n"
                         "GET /after HTTP/1.1\r\nHost: example.com\r\n\r\n",
                         T_MS));
    memset(&r, 0, sizeof(r));
    CHECK_INT(e2e_read_response(&c[0], &r, T_MS), 1);
    CHECK_STR(r.body, "b0 GET /park/200\n");
    e2e_resp_free(&r);
    memset(&r, 0, sizeof(r));
    CHECK_INT(e2e_read_response(&c[0], &r, T_MS), 1);
    CHECK_STR(r.body, "b0 GET /after\n");
    e2e_resp_free(&r);
    for (int i = 0; i < 6; i++)
        e2e_conn_close(&c[i]);
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

/* A client that leaves while its request is parked; one whose request stays
 * parked past the header timeout. The worker survives both. */
E2E_TEST(allhooks_park_client_gone, 30)
{
    struct world w;
    start_world(&w, ", client_header_timeout = 1");
    pid_t worker = the_worker(&w.f);
    REQUIRE(worker > 0);
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, w.f.port));
    REQUIRE(e2e_send_str(&c, "GET /park/300 HTTP/1.1\r\nHost: example.com\r\n\r\n", T_MS));
    e2e_sleep_ms(50);
    e2e_conn_close(&c);
    e2e_sleep_ms(1000); /* the timer fires (at 300 ms) and resumes an orphan */
    struct e2e_resp r;
    CHECK_INT(get(w.f.port, "example.com", "/x", NULL, &r), 200);
    e2e_resp_free(&r);
    /* Parked for 2.5 s with a 1 s header timeout. */
    REQUIRE(e2e_conn_open(&c, w.f.port));
    REQUIRE(e2e_send_str(&c, "GET /park/2500 HTTP/1.1\r\nHost: example.com\r\n\r\n", T_MS));
    int64_t t0 = e2e_now_ms();
    memset(&r, 0, sizeof(r));
    int rc = e2e_read_response(&c, &r, 6000);
    e2e_log("parked past the header timeout: rc %d status %d after %lld ms", rc, r.status,
            (long long)(e2e_now_ms() - t0));
    e2e_resp_free(&r);
    e2e_conn_close(&c);
    /* past the park's end (2.5 s), with room for a slow timer */
    e2e_sleep_ms(3500 - (int)(e2e_now_ms() - t0) > 0 ? 3500 - (int)(e2e_now_ms() - t0)
                                                     : 0);
    CHECK_INT(get(w.f.port, "example.com", "/x", NULL, &r), 200);
    e2e_resp_free(&r);
    CHECK_INT(the_worker(&w.f), worker);
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

E2E_TEST(allhooks_upstream_select, 30)
{
    struct world w;
    start_world(&w, "");
    struct e2e_resp r;
    /* Service setting allhooks_endpoint = 2 (a backup endpoint, weight 3). */
    for (int i = 0; i < 5; i++) {
        CHECK_INT(get(w.f.port, "pool.test", "/x", NULL, &r), 200);
        CHECK_STR(hdr(&r, "X-Backend"), "b2");
        CHECK_STR(hdr(&r, "X-All-Select"), "2 tried=0");
        e2e_resp_free(&r);
    }
    /* The route's setting wins: endpoint = 1. */
    for (int i = 0; i < 3; i++) {
        CHECK_INT(get(w.f.port, "pick1.test", "/x", NULL, &r), 200);
        CHECK_STR(hdr(&r, "X-Backend"), "b1");
        e2e_resp_free(&r);
    }
    CHECK_INT(e2e_backend_requests(w.b[0].port), 0);
    /* The chosen endpoint refuses connections: the result hook sees the
     * error, select runs again with it in `tried`, the retry goes to b1. */
    CHECK_INT(get(w.f.port, "flaky.test", "/x", NULL, &r), 200);
    CHECK_STR(hdr(&r, "X-Backend"), "b1");
    CHECK_STR(hdr(&r, "X-All-Select"), "1 tried=1");
    char result[256];
    snprintf(result, sizeof(result), "service=flaky endpoint=1 address=127.0.0.1:%d status=200 err=0",
             w.b[1].port);
    CHECKF(strncmp(hdr(&r, "X-All-Result"), result, strlen(result)) == 0, "X-All-Result: %s",
           hdr(&r, "X-All-Result"));
    e2e_resp_free(&r);
    char want[256];
    snprintf(want, sizeof(want), "result /x service=flaky endpoint=0 address=127.0.0.1:%d status=0 err=%d",
             w.dead, ECONNREFUSED);
    CHECKF(e2e_foyer_log_wait(&w.f, want, T_MS), "no log line \"%s\"", want);
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

E2E_TEST(allhooks_latency_and_bytes, 40)
{
    struct world w;
    start_world(&w, "");
    struct e2e_resp r;
    /* Latency from the request sent to the response head. */
    CHECK_INT(get(w.f.port, "example.com", "/slow/300", NULL, &r), 200);
    const char *res = hdr(&r, "X-All-Result");
    const char *lat = strstr(res, "latency_ms=");
    CHECKF(lat && atoi(lat + 11) >= 280 && atoi(lat + 11) < 3000, "X-All-Result: %s", res);
    e2e_resp_free(&r);
    /* Request body bytes, with a length: all seen before the /sink answer. */
    size_t n = 100000;
    char *body = malloc(n + 256);
    REQUIRE(body);
    int hl = snprintf(body, 256, "Content-Length: %zu\r\n\r\n", n);
    memset(body + hl, 'z', n);
    body[hl + n] = 0;
    memset(&r, 0, sizeof(r));
    CHECK_INT(e2e_http(w.f.port, "POST", "example.com", "/sink", body, &r, T_MS), 1);
    CHECK_INT(r.status, 200);
    CHECKF(r.body && strncmp(r.body, "bytes=100000 ", 13) == 0, "backend: %s", r.body);
    CHECK_STR(hdr(&r, "X-All-Req-Bytes"), "100000");
    e2e_resp_free(&r);
    free(body);
    /* Chunked: data bytes, not framing. */
    memset(&r, 0, sizeof(r));
    CHECK_INT(e2e_http(w.f.port, "POST", "example.com", "/sink",
                       "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
                       &r, T_MS),
              1);
    CHECK_INT(r.status, 200);
    CHECK_STR(hdr(&r, "X-All-Req-Bytes"), "31");
    e2e_resp_free(&r);
    /* Response body bytes, reported by on_log: with a length, chunked
     * (decoded data), and close-delimited. */
    CHECK_INT(get(w.f.port, "example.com", "/size/50000", NULL, &r), 200);
    e2e_resp_free(&r);
    CHECK_INT(get(w.f.port, "example.com", "/chunked/12345", NULL, &r), 200);
    CHECK_INT(r.body_total, 12345);
    e2e_resp_free(&r);
    CHECK_INT(get(w.f.port, "example.com", "/close/777", NULL, &r), 200);
    e2e_resp_free(&r);
    CHECKF(e2e_foyer_log_wait(&w.f, "log path=/size/50000 status=200 req_bytes=0 resp_bytes=50000 "
                                    "late_set=-1 results=1 label=app-route tag=gen1",
                              2000),
           "no on_log line for /size/50000");
    CHECKF(e2e_foyer_log_wait(&w.f, "log path=/chunked/12345 status=200 req_bytes=0 resp_bytes=12345 ", 2000),
           "no on_log line for /chunked/12345");
    CHECKF(e2e_foyer_log_wait(&w.f, "log path=/close/777 status=200 req_bytes=0 resp_bytes=777 ", 2000),
           "no on_log line for /close/777");
    CHECKF(e2e_foyer_log_wait(&w.f, "log path=/sink status=200 req_bytes=100000 ", 2000),
           "no on_log line for the POST");
    if (!log_has(&w.f, "log path=/close/777"))
        e2e_foyer_dump_log(&w.f);
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

/* Connects to 127.0.0.1:port from the local address src. */
static int connect_from(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &a.sin_addr);
    struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &d.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        connect(fd, (struct sockaddr *)&d, sizeof(d)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends a request on fd; returns bytes of answer read before EOF/reset/timeout. */
static long answer_bytes(int fd, int timeout_ms, bool *closed)
{
    static const char req[] = "GET /x HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n";
    (void)!send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL);
    long total = 0;
    *closed = false;
    int64_t deadline = e2e_now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - e2e_now_ms());
        if (left <= 0)
            return total;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left) <= 0)
            return total;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            *closed = true;
            return total;
        }
        total += n;
    }
}

/* A body held for on_request_body_held: with a length, chunked (decoded),
 * longer than asked (a prefix), behind 100-continue; one it refuses never
 * reaches the backend. */
E2E_TEST(allhooks_holds_the_body, 40)
{
    struct world w;
    start_world(&w, "");
    struct e2e_resp r = {0};
    CHECK_INT(e2e_http(w.f.port, "POST", "example.com", "/sink?a=1",
                       "X-Hold: 100\r\nContent-Length: 11\r\n\r\nhello world", &r, T_MS),
              1);
    CHECK_INT(r.status, 200);
    CHECKF(r.body && strncmp(r.body, "bytes=11 ", 9) == 0, "backend: %s", r.body);
    char want[96];
    snprintf(want, sizeof want, "len=11 complete=1 fnv=%016llx",
             (unsigned long long)e2e_fnv1a(E2E_FNV_INIT, "hello world", 11));
    CHECK_STR(hdr(&r, "X-All-Held"), want);
    CHECK_STR(hdr(&r, "X-All-Req-Bytes"), "11");
    CHECK_STR(hdr(&r, "X-All-Target"), "/sink?a=1");
    CHECK_STR(hdr(&r, "X-All-Nheaders"), "3"); /* Host, X-Hold, Content-Length */
    CHECK_STR(hdr(&r, "X-All-Numbers"), "7,2.5,x");
    CHECK_STR(hdr(&r, "X-All-Req-Id"), hdr(&r, "X-Request-Id")); /* the same id */
    CHECK_INT(strlen(hdr(&r, "X-All-Req-Id")), 32);
    e2e_resp_free(&r);
    /* chunked: the plugin sees data, the backend gets it all */
    memset(&r, 0, sizeof r);
    CHECK_INT(e2e_http(w.f.port, "POST", "example.com", "/sink",
                       "X-Hold: 8\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
                       &r, T_MS),
              1);
    CHECK_INT(r.status, 200);
    CHECKF(r.body && strncmp(r.body, "bytes=31 ", 9) == 0, "backend: %s", r.body);
    snprintf(want, sizeof want, "len=8 complete=0 fnv=%016llx",
             (unsigned long long)e2e_fnv1a(E2E_FNV_INIT, "helloabc", 8));
    CHECK_STR(hdr(&r, "X-All-Held"), want);
    e2e_resp_free(&r);
    /* 300 KiB, 64 KiB held: a prefix, the whole body still goes through */
    size_t n = 300 * 1024;
    char *big = malloc(n + 256);
    REQUIRE(big);
    int hl = snprintf(big, 256, "X-Hold: 65536\r\nContent-Length: %zu\r\n\r\n", n);
    memset(big + hl, 'q', n);
    big[hl + n] = 0;
    memset(&r, 0, sizeof r);
    CHECK_INT(e2e_http(w.f.port, "POST", "example.com", "/sink", big, &r, T_MS), 1);
    CHECK_INT(r.status, 200);
    CHECKF(r.body && strncmp(r.body, "bytes=307200 ", 13) == 0, "backend: %s", r.body);
    CHECKF(strncmp(hdr(&r, "X-All-Held"), "len=65536 complete=0 ", 21) == 0, "held: %s",
           hdr(&r, "X-All-Held"));
    e2e_resp_free(&r);
    free(big);
    /* refused from the held body: 403, the backend sees nothing */
    long before = e2e_backend_requests(w.b[0].port);
    memset(&r, 0, sizeof r);
    CHECK_INT(e2e_http(w.f.port, "POST", "example.com", "/sink",
                       "X-Hold: 100\r\nContent-Length: 14\r\n\r\nplease DENY-ME", &r,
                       T_MS),
              1);
    CHECK_INT(r.status, 403);
    CHECKF(r.body && strstr(r.body, "held body denied"), "body: %s", r.body);
    e2e_resp_free(&r);
    CHECK_INT(e2e_backend_requests(w.b[0].port), before);
    /* Expect: 100-continue: foyer asks for the body it holds */
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, w.f.port));
    REQUIRE(e2e_send_str(&c, "POST /sink HTTP/1.1\r\nHost: example.com\r\nX-Hold: 100\r\n"
                             "Expect: 100-continue\r\nContent-Length: 5\r\n"
                             "Connection: close\r\n\r\n",
                         T_MS));
    struct e2e_resp h = {0};
    CHECK_INT(e2e_read_head(&c, &h, T_MS), 1);
    CHECK_INT(h.status, 100);
    e2e_resp_free(&h);
    REQUIRE(e2e_send_str(&c, "abcde", T_MS));
    memset(&r, 0, sizeof r);
    CHECK_INT(e2e_read_response(&c, &r, T_MS), 1);
    CHECK_INT(r.status, 200);
    CHECKF(strncmp(hdr(&r, "X-All-Held"), "len=5 complete=1 ", 17) == 0, "held: %s",
           hdr(&r, "X-All-Held"));
    e2e_resp_free(&r);
    e2e_conn_close(&c);
    /* a client that leaves mid-body: nothing reaches the backend */
    before = e2e_backend_requests(w.b[0].port);
    REQUIRE(e2e_conn_open(&c, w.f.port));
    REQUIRE(e2e_send_str(&c, "POST /sink HTTP/1.1\r\nHost: example.com\r\nX-Hold: 100\r\n"
                             "Content-Length: 50\r\n\r\nonly part",
                         T_MS));
    e2e_sleep_ms(100);
    e2e_conn_close(&c);
    e2e_sleep_ms(100);
    CHECK_INT(e2e_backend_requests(w.b[0].port), before);
    CHECK_INT(get(w.f.port, "example.com", "/status/204", NULL, &r), 204);
    e2e_resp_free(&r);
}

E2E_TEST(allhooks_on_accept_refuses_client, 30)
{
    struct world w;
    start_world(&w, "");
    int fd = connect_from("127.0.0.2", w.f.port);
    REQUIREF(fd >= 0, "cannot connect from 127.0.0.2: %s", strerror(errno));
    bool closed;
    long got = answer_bytes(fd, T_MS, &closed);
    close(fd);
    CHECKF(got == 0 && closed, "127.0.0.2 got %ld bytes (closed: %d), want a closed connection",
           got, closed);
    CHECKF(e2e_foyer_log_wait(&w.f, "refused client 127.0.0.2", T_MS),
           "no refusal logged");
    CHECK_INT(e2e_backend_requests(w.b[0].port), 0);
    /* Others are served. */
    fd = connect_from("127.0.0.1", w.f.port);
    REQUIRE(fd >= 0);
    got = answer_bytes(fd, T_MS, &closed);
    close(fd);
    CHECKF(got > 0, "127.0.0.1 was not served");
    struct e2e_resp r;
    CHECK_INT(get(w.f.port, "example.com", "/x", NULL, &r), 200);
    e2e_resp_free(&r);
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

/* FOYER_ERROR gives 500, FOYER_RESPOND the plugin's answer, from each phase
 * that can still answer; the worker keeps serving. */
static void check_error(const struct world *w, const char *path, int status, const char *body)
{
    struct e2e_resp r;
    int got = get(w->f.port, "example.com", path, NULL, &r);
    CHECKF(got == status, "%s: status %d, want %d", path, got, status);
    if (body)
        CHECK_STR(r.body, body);
    e2e_resp_free(&r);
    CHECK_INT(get(w->f.port, "example.com", "/x", NULL, &r), 200);
    CHECK_STR(r.body, "b0 GET /x\n");
    e2e_resp_free(&r);
}

E2E_TEST(allhooks_errors_and_answers, 30)
{
    struct world w;
    start_world(&w, "");
    pid_t worker = the_worker(&w.f);
    check_error(&w, "/fail/headers", 500, NULL);
    check_error(&w, "/fail/route", 500, NULL);
    check_error(&w, "/answer/route", 418, "teapot\n");
    check_error(&w, "/answer/select", 503, "no endpoint for you\n");
    CHECK_INT(e2e_backend_requests(w.b[0].port), 4); /* only the /x ones */
    CHECKF(e2e_foyer_log_wait(&w.f, "allhooks", T_MS),
           "the failing plugin is not named in the log");
    CHECK_INT(the_worker(&w.f), worker);
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

/* on_log sees the status the client got, also for foyer's own error pages. */
E2E_TEST(allhooks_log_sees_final_status, 30)
{
    struct world w;
    start_world(&w, "");
    struct e2e_resp r;
    CHECK_INT(get(w.f.port, "example.com", "/fail/headers", NULL, &r), 500);
    e2e_resp_free(&r);
    CHECK_INT(get(w.f.port, "example.com", "/status/404", NULL, &r), 404);
    e2e_resp_free(&r);
    CHECKF(e2e_foyer_log_wait(&w.f, "log path=/status/404 status=404", T_MS),
           "on_log: no status for a proxied 404");
    CHECKF(e2e_foyer_log_wait(&w.f, "log path=/fail/headers status=500", T_MS),
           "on_log: resp_status() is not the 500 the client got");
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

/* FOYER_ERROR from on_upstream_select: "the request fails with 500". */
E2E_TEST(allhooks_error_from_select_is_500, 30)
{
    struct world w;
    start_world(&w, "");
    check_error(&w, "/fail/select", 500, NULL);
    CHECK_INT(e2e_backend_requests(w.b[0].port), 1);
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

/* FOYER_ERROR from on_response_headers, before anything was sent to the
 * client: the request fails with 500 rather than the backend's answer. */
E2E_TEST(allhooks_error_from_response_headers_is_500, 30)
{
    struct world w;
    start_world(&w, "");
    check_error(&w, "/fail/response", 500, NULL);
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

E2E_TEST(allhooks_config_checks, 30)
{
    struct world w = {0};
    w.f.port = e2e_free_port();
    w.b[0].port = w.b[1].port = w.b[2].port = 9;
    w.dead = 9;
    char out[4096];
    char *text = allhooks_conf(&w, "", "gen1");
    int rc = check_conf("good.lua", text, out, sizeof(out));
    CHECKF(rc == 0, "foyer -t exited %d: %s", rc, out);
    /* The master's init and fini ran, outside any worker. */
    CHECKF(strstr(out, "init tag=gen1 worker=-1") && strstr(out, "fini tag=gen1 worker=-1"),
           "init/fini in -t: %s", out);
    /* init refuses an unknown setting: the plugin's line (9) and message. */
    text = e2e_replace(text, "verbose = true", "verbose = true, bogus = 1");
    CHECK_INT(check_conf("bogus.lua", text, out, sizeof(out)), 1);
    const char *rest;
    CHECKF(plugin_error_at(out, "bogus.lua", 9, "allhooks", &rest) &&
               strstr(rest, "unknown setting 'bogus'"),
           "got: %s", out);
    free(text);
    /* config_ready refuses a service setting. */
    text = allhooks_conf(&w, "", "gen1");
    text = e2e_replace(text, "allhooks_endpoint = 2", "allhooks_endpoint = 7");
    CHECK_INT(check_conf("range.lua", text, out, sizeof(out)), 1);
    CHECKF(plugin_error_at(out, "range.lua", 9, "allhooks", &rest) &&
               strstr(rest, "service \"pool\": allhooks_endpoint 7 is out of range (3 endpoints)"),
           "got: %s", out);
    free(text);
    /* A service key no plugin claims. */
    char text2[1024];
    snprintf(text2, sizeof(text2),
             "listen \"127.0.0.1:%d\"\n"
             "service \"app\" { endpoints = { \"127.0.0.1:9\" }, allhooks_endpoint = 0 }\n"
             "route(function(req) return \"app\" end)\n",
             e2e_free_port());
    CHECK_INT(check_conf("unclaimed.lua", text2, out, sizeof(out)), 1);
    CHECKF(strstr(out, "unclaimed.lua:2:") && strstr(out, "allhooks_endpoint"), "got: %s", out);
}

/* Rewrites the config with another tag, sends SIGHUP to the master and waits
 * until the worker has the new state. */
static void reload_to(struct world *w, const char *tag)
{
    char *text = allhooks_conf(w, "", tag);
    REQUIRE(e2e_write_file(w->f.conf, text));
    free(text);
    REQUIRE(kill(w->f.pid, SIGHUP) == 0);
    char want[128];
    snprintf(want, sizeof(want), "worker_init tag=%s worker=0/1", tag);
    REQUIREF(e2e_foyer_log_wait(&w->f, want, 5000), "the worker did not take tag %s", tag);
}

/* SIGHUP with a changed setting: new requests see it; the old state's fini
 * runs, in the master and in the worker. */
E2E_TEST(allhooks_reload, 40)
{
    struct world w;
    start_world(&w, "");
    pid_t worker = the_worker(&w.f);
    REQUIRE(worker > 0);
    struct e2e_resp r;
    CHECK_INT(get(w.f.port, "example.com", "/x", NULL, &r), 200);
    CHECK_STR(hdr(&r, "X-All-Tag"), "gen1");
    e2e_resp_free(&r);
    CHECKF(e2e_foyer_log_wait(&w.f, "worker_init tag=gen1 worker=0/1", T_MS),
           "no worker_init");

    reload_to(&w, "gen2");
    CHECK_INT(get(w.f.port, "example.com", "/headers", NULL, &r), 200);
    CHECK_STR(hdr(&r, "X-All-Tag"), "gen2");
    CHECK_STR(echoed(&r, "X-All-Tag"), "gen2");
    CHECK_STR(hdr(&r, "X-All-Count"), "2"); /* counters outlive a generation */
    e2e_resp_free(&r);
    CHECK_INT(the_worker(&w.f), worker); /* reloaded in place */
    /* No request holds the first generation any more. */
    CHECKF(e2e_foyer_log_wait(&w.f, "fini tag=gen1 worker=0", T_MS),
           "the first state's fini did not run in the worker after the reload");
    /* the master loads on a niced thread: it may finish a moment later */
    CHECKF(e2e_foyer_log_wait(&w.f, "fini tag=gen1 worker=-1", T_MS),
           "the master did not finish its first state at the reload");
    CHECKF(!log_has(&w.f, "fini tag=gen2"), "the new state was finished");

    /* A second reload, the same way. */
    reload_to(&w, "gen3");
    CHECK_INT(get(w.f.port, "example.com", "/x", NULL, &r), 200);
    CHECK_STR(hdr(&r, "X-All-Tag"), "gen3");
    e2e_resp_free(&r);
    CHECKF(e2e_foyer_log_wait(&w.f, "fini tag=gen2 worker=0", T_MS),
           "the second state's fini did not run in the worker");
    CHECKF(e2e_foyer_log_wait(&w.f, "fini tag=gen2 worker=-1", T_MS),
           "the master did not finish the second state");
    CHECK_INT(count_in_log(&w.f, "fini tag=gen2 worker=0"), 1);
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

/* X-All-Count of a request (allhooks counts every request's head), -1 on
 * failure. */
static int count_requests(const struct world *w)
{
    struct e2e_resp r;
    int st = get(w->f.port, "example.com", "/x", NULL, &r);
    int n = st == 200 ? atoi(hdr(&r, "X-All-Count")) : -1;
    e2e_resp_free(&r);
    return n;
}

/* The old state lives while a request parked before the reload still uses
 * it; its fini runs when that request ends. (Between the second and third
 * generations, so that the first one's own life does not matter here.) */
E2E_TEST(allhooks_reload_waits_for_last_request, 40)
{
    struct world w;
    start_world(&w, "");
    REQUIREF(e2e_foyer_wait_workers(&w.f, 1, T_MS), "foyer's worker did not start");
    reload_to(&w, "gen2");
    struct e2e_conn held;
    REQUIRE(e2e_conn_open(&held, w.f.port));
    REQUIRE(e2e_send_str(
        &held,
        "GET /park/3000 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
        T_MS));
    /* Parked (under gen2) once on_request_headers counted it: requests on
     * other connections tell (X-All-Count counts both). */
    int probes = 0, count = 0;
    bool parked =
        E2E_WAIT_UNTIL((probes++, count = count_requests(&w), count >= probes + 1), T_MS);
    REQUIREF(parked, "the held request was not parked (%d requests counted, %d probes)",
             count, probes);
    reload_to(&w, "gen3");
    struct e2e_resp r;
    CHECK_INT(get(w.f.port, "example.com", "/x", NULL, &r), 200);
    CHECK_STR(hdr(&r, "X-All-Tag"), "gen3");
    e2e_resp_free(&r);
    e2e_sleep_ms(100);
    CHECKF(!log_has(&w.f, "fini tag=gen2 worker=0"),
           "the old state was finished while a parked request still used it");
    memset(&r, 0, sizeof(r));
    CHECK_INT(e2e_read_response(&held, &r, T_MS), 1);
    CHECK_INT(r.status, 200);
    CHECK_STR(hdr(&r, "X-All-Tag"), "gen2"); /* its own generation to the end */
    CHECK_STR(r.body, "b0 GET /park/3000\n");
    e2e_resp_free(&r);
    e2e_conn_close(&held);
    CHECKF(e2e_foyer_log_wait(&w.f, "fini tag=gen2 worker=0", T_MS),
           "the old state's fini did not run once its last request ended");
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

/* A graceful stop is the end of the configuration in the workers too. */
E2E_TEST(allhooks_fini_at_stop, 30)
{
    struct world w;
    start_world(&w, "");
    struct e2e_resp r;
    CHECK_INT(get(w.f.port, "example.com", "/x", NULL, &r), 200);
    e2e_resp_free(&r);
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
    CHECKF(log_has(&w.f, "fini tag=gen1 worker=-1"), "the master did not finish its state");
    CHECKF(log_has(&w.f, "fini tag=gen1 worker=0"), "the worker did not finish its state at stop");
}

E2E_TEST(allhooks_reload_refused_keeps_state, 30)
{
    struct world w;
    start_world(&w, "");
    REQUIREF(e2e_foyer_wait_workers(&w.f, 1, T_MS), "foyer's worker did not start");
    char *text = allhooks_conf(&w, "", "gen2");
    text = e2e_replace(text, "verbose = true", "verbose = true, bogus = 1");
    REQUIRE(e2e_write_file(w.f.conf, text));
    free(text);
    REQUIRE(kill(w.f.pid, SIGHUP) == 0);
    CHECKF(e2e_foyer_log_wait(&w.f, "unknown setting 'bogus'", 5000),
           "the refusal does not carry the plugin's message");
    e2e_sleep_ms(200);
    struct e2e_resp r;
    CHECK_INT(get(w.f.port, "example.com", "/x", NULL, &r), 200);
    CHECK_STR(hdr(&r, "X-All-Tag"), "gen1");
    e2e_resp_free(&r);
    CHECKF(!log_has(&w.f, "fini tag=gen1"), "the running state was finished");
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

/* Plugins run in the configured order: the first to answer stops the rest. */
E2E_TEST(plugin_order, 30)
{
    struct e2e_backend be = e2e_backend_start("app");
    for (int hello_first = 0; hello_first < 2; hello_first++) {
        char a[PATH_MAX + 64], b[PATH_MAX + 64];
        snprintf(a, sizeof(a), "plugin \"hello\" { path = \"%s\" }", so("hello"));
        snprintf(b, sizeof(b), "plugin \"allhooks\" { path = \"%s\" }", so("allhooks"));
        struct e2e_foyer f;
        e2e_foyer_start(&f,
                        "set { workers = 1 }\n"
                        "service \"app\" { endpoints = { \"127.0.0.1:%d\" } }\n"
                        "%s\n%s\n"
                        "route(function(req) return \"app\" end)\n",
                        be.port, hello_first ? a : b, hello_first ? b : a);
        struct e2e_resp r;
        CHECK_INT(get(f.port, "example.com", "/hello", NULL, &r), 200);
        CHECK_STR(r.body, "hello\n");
        e2e_resp_free(&r);
        CHECK_INT(get(f.port, "example.com", "/x", NULL, &r), 200);
        /* allhooks counted /hello only when it came first. */
        CHECK_STR(hdr(&r, "X-All-Count"), hello_first ? "1" : "2");
        CHECK_STR(hdr(&r, "X-Hello"), "hello");
        e2e_resp_free(&r);
        CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
    }
}

/* Many requests whose on_log reads the route's plugin settings. */
E2E_TEST(allhooks_route_conf_in_log_many_requests, 120)
{
    struct world w;
    start_world(&w, "");
    pid_t worker = the_worker(&w.f);
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, w.f.port));
    int n = 5000, ok = 0;
    for (int i = 0; i < n; i++) {
        char req[128];
        snprintf(req, sizeof(req), "GET /n%d HTTP/1.1\r\nHost: example.com\r\n\r\n", i);
        struct e2e_resp r = {0};
        if (!e2e_send_str(&c, req, T_MS) || e2e_read_response(&c, &r, T_MS) != 1) {
            e2e_resp_free(&r);
            CHECKF(false, "request %d failed", i);
            break;
        }
        ok += r.status == 200 && strcmp(hdr(&r, "X-All-Tag"), "gen1") == 0;
        e2e_resp_free(&r);
    }
    e2e_conn_close(&c);
    CHECK_INT(ok, n);
    char want[128];
    snprintf(want, sizeof(want), "log path=/n%d status=200 req_bytes=0 resp_bytes=", n - 1);
    CHECKF(e2e_foyer_log_wait(&w.f, want, T_MS), "no log line for the last request");
    /* Every on_log call read the route's label. */
    char *log = e2e_read_file(w.f.errlog);
    int lines = 0, labelled = 0, first_lost = -1;
    for (const char *p = log; p && (p = strstr(p, "log path=/n")); p++) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            break;
        lines++;
        if (memmem(p, (size_t)(eol - p), "label=app-route", 15))
            labelled++;
        else if (first_lost < 0)
            first_lost = atoi(p + 11);
    }
    free(log);
    CHECK_INT(lines, n);
    CHECKF(labelled == n, "route_plugin_conf() in on_log returned NULL for %d of %d requests, "
           "from request %d on", n - labelled, n, first_lost);
    CHECK_INT(the_worker(&w.f), worker);
    CHECK_INT(e2e_foyer_stop(&w.f, 5000), 0);
}

int main(void)
{
    static const struct e2e_case cases[] = {
        E2E_CASE(refuses_broken_plugins),
        E2E_CASE(init_failure_without_message_still_explained),
        E2E_CASE(refuses_missing_and_foreign_files),
        E2E_CASE(duplicate_names_refused),
        E2E_CASE(broken_plugin_stops_start),
        E2E_CASE(hello_from_path),
        E2E_CASE(hello_default_greeting_and_bad_setting),
        E2E_CASE(plugin_path_finds_name_so),
        E2E_CASE(hello_builds_out_of_tree),
        E2E_CASE(older_descriptor_loads_without_later_hooks),
        E2E_CASE(allhooks_request_and_response_fields),
        E2E_CASE(allhooks_answers_403_from_request_headers),
        E2E_CASE(allhooks_park_and_resume),
        E2E_CASE(allhooks_park_client_gone),
        E2E_CASE(allhooks_upstream_select),
        E2E_CASE(allhooks_latency_and_bytes),
        E2E_CASE(allhooks_holds_the_body),
        E2E_CASE(allhooks_on_accept_refuses_client),
        E2E_CASE(allhooks_errors_and_answers),
        E2E_CASE(allhooks_log_sees_final_status),
        E2E_CASE(allhooks_error_from_select_is_500),
        E2E_CASE(allhooks_error_from_response_headers_is_500),
        E2E_CASE(allhooks_config_checks),
        E2E_CASE(allhooks_reload),
        E2E_CASE(allhooks_reload_waits_for_last_request),
        E2E_CASE(allhooks_fini_at_stop),
        E2E_CASE(allhooks_reload_refused_keeps_state),
        E2E_CASE(plugin_order),
        E2E_CASE(allhooks_route_conf_in_log_many_requests),
    };
    return e2e_run_suite("plugins", cases, sizeof(cases) / sizeof(cases[0]));
}
