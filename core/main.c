/* foyer: the command line. */
#include "build-config.h"
#include "config.h"
#include "log.h"
#include "plugin_api.h"
#include "process.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FOYER_SYSCONFDIR
#define FOYER_SYSCONFDIR "/etc/foyer"
#endif

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: foyer [-c FILE] [-t] [-p PIDFILE] [-s reload|stop] [-v] [-h]\n"
        "  -c FILE     configuration file (default %s/foyer.lua)\n"
        "  -t          check the configuration and exit (0 ok, 1 with file:line: error)\n"
        "  -p PIDFILE  write the master's pid here (default: set { pid_file = ... })\n"
        "  -s SIGNAL   send reload (SIGHUP) or stop (SIGTERM) to the running master\n"
        "  -v          print the version\n"
        "  -h          this help\n"
        "foyer runs in the foreground; SIGTERM stops it gracefully, SIGHUP reloads.\n",
        FOYER_SYSCONFDIR);
}

/* -s: signal the master whose pid is in the pid file. */
static int send_signal(const char *action, const char *pid_file)
{
    int sig = strcmp(action, "reload") == 0 ? SIGHUP
              : strcmp(action, "stop") == 0 ? SIGTERM
                                            : 0;
    if (sig == 0) {
        fprintf(stderr, "foyer: -s takes reload or stop, not '%s'\n", action);
        return 2;
    }
    if (pid_file == NULL) {
        fprintf(stderr,
                "foyer: -s needs the pid file: -p PIDFILE or set { pid_file = ... }\n");
        return 1;
    }
    FILE *f = fopen(pid_file, "r");
    long pid = 0;
    if (f == NULL || fscanf(f, "%ld", &pid) != 1 || pid <= 1) {
        fprintf(stderr, "foyer: no running master found in %s\n", pid_file);
        if (f) fclose(f);
        return 1;
    }
    fclose(f);
    if (kill((pid_t)pid, sig) != 0) {
        fprintf(stderr, "foyer: cannot signal pid %ld: %s\n", pid, strerror(errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *file = FOYER_SYSCONFDIR "/foyer.lua", *pid_file = NULL, *action = NULL;
    int test_only = 0, opt;
    while ((opt = getopt(argc, argv, "c:tp:s:vh")) != -1) {
        switch (opt) {
        case 'c':
            file = optarg;
            break;
        case 't':
            test_only = 1;
            break;
        case 'p':
            pid_file = optarg;
            break;
        case 's':
            action = optarg;
            break;
        case 'v':
            printf("foyer %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    char err[2048];
    if (action != NULL && pid_file != NULL) return send_signal(action, pid_file);
    foyer_master_pid = getpid(); /* names the plugins' shared memory */
    struct foyer_config *c = foyer_config_load(file, err, sizeof err);
    if (c == NULL) {
        fprintf(stderr, "%s\n", err);
        foyer_plugin_shared_cleanup(); /* a plugin may have made some before the error */
        return 1;
    }
    if (pid_file == NULL) pid_file = c->settings.pid_file;
    if (action != NULL) {
        int rc = send_signal(action, pid_file);
        foyer_config_unref(c);
        return rc;
    }
    if (test_only) {
        printf("%s: configuration ok\n", file);
        foyer_config_unref(c);
        foyer_plugin_shared_cleanup();
        return 0;
    }
    if (action != NULL) foyer_plugin_shared_cleanup();
    foyer_config_apply_logging(&c->settings);
    int rc = foyer_master_run(c, pid_file); /* takes the config */
    foyer_plugin_shared_cleanup();
    return rc;
}
