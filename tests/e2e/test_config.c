/*
 * `foyer -t -c FILE`: a good config exits 0; a bad one exits 1 and says
 * `file:line: message` on stderr, with the line of the offending statement.
 * The same errors stop a normal start.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

struct cfg_case {
    const char *file; /* name in the temp dir */
    const char *lua;  /* %d: a port */
    int bad_line;     /* 0: the config is valid */
};

static const struct cfg_case cfg_cases[] = {
    {"good.lua",
     "set { workers = 2 }\n"
     "listen \"127.0.0.1:%d\"\n"
     "service \"pizza-menu\" { endpoints = { \"127.0.0.1:9001\", \"127.0.0.1:9002\" } }\n"
     "service \"pizza-offers\" { endpoints = { \"127.0.0.1:9003\" } }\n"
     "route(function(req)\n"
     "  if req.host == \"vincentpizza.com\" then\n"
     "    if req.path:find(\"^/menu/\") then return \"pizza-menu\" end\n"
     "  end\n"
     "  return nil\n"
     "end)\n",
     0},
    {"timeouts.lua",
     "set { workers = 1, client_header_timeout = 10, client_body_timeout = 10,\n"
     "      keepalive_timeout = 30, upstream_connect_timeout = 2,\n"
     "      upstream_read_timeout = 30, upstream_send_timeout = 30,\n"
     "      max_header_bytes = 16384, max_headers = 100, max_body_bytes = 1048576,\n"
     "      max_connections = 1000, access_log = false, grace_period = 5 }\n"
     "listen \"127.0.0.1:%d\"\n"
     "service \"app\" { endpoints = { \"127.0.0.1:9001\" } }\n"
     "route(function(req) return \"app\" end)\n",
     0},
    {"ipv6.lua",
     "listen \"[::1]:%d\"\n"
     "service \"app\" { endpoints = { \"[::1]:9001\" } }\n"
     "route(function(req) return \"app\" end)\n",
     0},
    {"unknown_key.lua",
     "listen \"127.0.0.1:%d\"\n"
     "set { workers = 1, wrokers = 2 }\n"
     "route(function(req) return nil end)\n",
     2},
    {"bad_type.lua",
     "listen \"127.0.0.1:%d\"\n"
     "\n"
     "set { workers = \"many\" }\n",
     3},
    {"bad_listen.lua",
     "set { workers = 1 }\n"
     "listen \"127.0.0.1:%d0000\"\n",
     2},
    {"bad_listen_host.lua",
     "set { workers = 1 }\n"
     "-- %d\n"
     "listen \"nohost\"\n",
     3},
    {"bad_endpoint.lua",
     "listen \"127.0.0.1:%d\"\n"
     "service \"app\" {\n"
     "  endpoints = { \"127.0.0.1\" } }\n"
     "route(function(req) return \"app\" end)\n",
     2},
    {"duplicate_service.lua",
     "listen \"127.0.0.1:%d\"\n"
     "service \"app\" { endpoints = { \"127.0.0.1:9001\" } }\n"
     "service \"app\" { endpoints = { \"127.0.0.1:9002\" } }\n"
     "route(function(req) return \"app\" end)\n",
     3},
    {"unknown_service_key.lua",
     "listen \"127.0.0.1:%d\"\n"
     "service \"app\" { endpoints = { \"127.0.0.1:9001\" }, endpionts = {} }\n",
     2},
    {"syntax.lua",
     "listen \"127.0.0.1:%d\"\n"
     "\n"
     "set { workers = = 1 }\n"
     "route(function(req) return \"app\" end)\n",
     3},
    {"route_not_function.lua",
     "listen \"127.0.0.1:%d\"\n"
     "route(\"app\")\n",
     2},
};

static bool has_file_line(const char *out, const char *file, int line)
{
    char want[128];
    snprintf(want, sizeof(want), "%s:%d:", file, line);
    return strstr(out, want) != NULL;
}

/* Writes the case's config; returns its path. */
static const char *write_case(const struct cfg_case *cc)
{
    char text[2048];
    snprintf(text, sizeof(text), cc->lua, e2e_free_port());
    const char *path = e2e_path(cc->file);
    REQUIRE(e2e_write_file(path, text));
    return path;
}

E2E_TEST(config_check, 60)
{
    char *bin = (char *)e2e_env("FOYER_BIN");
    for (size_t i = 0; i < sizeof(cfg_cases) / sizeof(cfg_cases[0]); i++) {
        const struct cfg_case *cc = &cfg_cases[i];
        char *argv[] = {bin, "-t", "-c", (char *)write_case(cc), NULL};
        char out[4096];
        int rc = e2e_run(argv, out, sizeof(out), 10000);
        if (cc->bad_line == 0) {
            CHECKF(rc == 0, "%s: foyer -t exited %d: %s", cc->file, rc, out);
            continue;
        }
        CHECKF(rc == 1, "%s: foyer -t exited %d, want 1", cc->file, rc);
        CHECKF(has_file_line(out, cc->file, cc->bad_line), "%s: want \"%s:%d: ...\", got: %s",
               cc->file, cc->file, cc->bad_line, out);
    }
}

/* The same checks stop a real start, quickly and with the same message. */
E2E_TEST(bad_config_stops_start, 30)
{
    char *bin = (char *)e2e_env("FOYER_BIN");
    const struct cfg_case *cc = &cfg_cases[8]; /* duplicate service */
    REQUIRE(strcmp(cc->file, "duplicate_service.lua") == 0);
    char *argv[] = {bin, "-c", (char *)write_case(cc), NULL};
    char out[4096];
    int rc = e2e_run(argv, out, sizeof(out), 10000);
    CHECKF(rc == 1, "foyer -c with a bad config exited %d, want 1", rc);
    CHECKF(has_file_line(out, cc->file, cc->bad_line), "want \"%s:%d: ...\", got: %s", cc->file,
           cc->bad_line, out);
}

E2E_TEST(version_and_usage, 30)
{
    char *bin = (char *)e2e_env("FOYER_BIN");
    char out[4096];
    char *v[] = {bin, "-v", NULL};
    CHECK_INT(e2e_run(v, out, sizeof(out), 5000), 0);
    CHECKF(strstr(out, "0.") != NULL, "-v printed: %s", out);
    char *h[] = {bin, "-h", NULL};
    CHECK_INT(e2e_run(h, out, sizeof(out), 5000), 0);
    CHECKF(strstr(out, "-c") && strstr(out, "-t"), "-h printed: %s", out);
}

int main(void)
{
    static const struct e2e_case cases[] = {
        E2E_CASE(config_check),
        E2E_CASE(bad_config_stops_start),
        E2E_CASE(version_and_usage),
    };
    return e2e_run_suite("e2e-config", cases, sizeof(cases) / sizeof(cases[0]));
}
