/* foyer: the command line. */
#include "build-config.h"
#include "config.h"
#include "log.h"
#include "process.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FOYER_SYSCONFDIR
#define FOYER_SYSCONFDIR "/etc/foyer"
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "usage: foyer [-c FILE] [-t] [-p PIDFILE] [-v] [-h]\n"
            "  -c FILE     configuration file (default %s/foyer.lua)\n"
            "  -t          check the configuration and exit (0 ok, 1 with file:line: error)\n"
            "  -p PIDFILE  write the master's pid here\n"
            "  -v          print the version\n"
            "  -h          this help\n"
            "foyer runs in the foreground; SIGTERM stops it gracefully.\n",
            FOYER_SYSCONFDIR);
}

static void apply_log_settings(const struct foyer_settings *s)
{
    if (s->log_level == NULL) return;
    if (strcmp(s->log_level, "error") == 0) foyer_log_level = FOYER_LOG_ERR;
    else if (strcmp(s->log_level, "warn") == 0) foyer_log_level = FOYER_LOG_WARN;
    else if (strcmp(s->log_level, "debug") == 0) foyer_log_level = FOYER_LOG_DEBUG;
    else foyer_log_level = FOYER_LOG_INFO;
}

int main(int argc, char **argv)
{
    const char *file = FOYER_SYSCONFDIR "/foyer.lua", *pid_file = NULL;
    int test_only = 0, opt;
    while ((opt = getopt(argc, argv, "c:tp:vh")) != -1) {
        switch (opt) {
        case 'c': file = optarg; break;
        case 't': test_only = 1; break;
        case 'p': pid_file = optarg; break;
        case 'v': printf("foyer %s\n", PACKAGE_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    char err[2048];
    struct foyer_config *c = foyer_config_load(file, err, sizeof err);
    if (c == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (test_only) {
        printf("%s: configuration ok\n", file);
        foyer_config_unref(c);
        return 0;
    }
    apply_log_settings(&c->settings);
    if (foyer_log_open_error(c->settings.error_log) != 0) return 1;
    int rc = foyer_master_run(c, pid_file);
    foyer_config_unref(c);
    return rc;
}
