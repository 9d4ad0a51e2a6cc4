/*
 * Helpers of the foyer-k8s tests: running foyer-k8s, writing manifests as YAML,
 * starting foyer on the configuration foyer-k8s wrote. Built on the e2e harness
 * (tests/e2e/harness.h): each test case runs in its own process and temporary
 * directory.
 */
#ifndef FOYER_K8S_TEST_H
#define FOYER_K8S_TEST_H

#include "harness.h"
#include "json.h"

#include <stdio.h>

/* foyer-k8s: $FOYER_K8S, else the one next to $FOYER_BIN (both are built in the
 * top build directory). */
const char *k8s_bin(void);

/* Runs foyer-k8s with the arguments (NULL-terminated) in the case's temporary
 * directory; stdout and stderr in out. Returns its exit status. */
int k8s_run(char *out, size_t outlen, const char *arg, ...) __attribute__((sentinel));

/* Writes an array of objects as a YAML stream (documents separated by ---). */
void k8s_write_yaml(FILE *f, const struct e2e_json *docs);

/* Starts foyer on DIR/foyer.lua (DIR relative to the case's temporary
 * directory, written by foyer-k8s --listen), with prelude (Lua, e.g. `set { ... }`)
 * put first; waits until port accepts. */
void k8s_foyer_start(struct e2e_foyer *f, const char *dir, int port, const char *prelude);

/* Reads DIR/NAME of the temporary directory (malloc'd; NULL if absent). */
char *k8s_read(const char *dir, const char *name);

#endif
