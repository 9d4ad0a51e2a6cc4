/* RequestMirror: a fire-and-forget copy of a request to another service. The
 * copy has its own connection, its answer is read and dropped, and nothing
 * about it can delay or fail the real exchange. */
#ifndef FOYER_MIRROR_H
#define FOYER_MIRROR_H

#include <stddef.h>

struct foyer_service;

/* Sends head (ending in CRLFCRLF) plus body to an endpoint of s. The bytes are
 * copied. Silently skipped when too many mirrors are in flight. */
void foyer_mirror_send(struct foyer_service *s, const char *head, size_t head_len,
                       const char *body, size_t body_len);

#endif
