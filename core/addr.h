/* Socket addresses as written in the config: "127.0.0.1:8080", "[::1]:8080". */
#ifndef FOYER_ADDR_H
#define FOYER_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

union foyer_sockaddr {
    struct sockaddr sa;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
};

/* Parses host:port (numeric IPv4, or [IPv6]). Returns 0, or -1 with *err set. */
int foyer_addr_parse(const char *text, union foyer_sockaddr *out, socklen_t *len,
                     const char **err);
/* Writes the numeric host (no port) into out. */
void foyer_addr_host(const union foyer_sockaddr *a, char *out, size_t outlen);
/* host:port, IPv6 in brackets. */
void foyer_addr_format(const union foyer_sockaddr *a, char *out, size_t outlen);

#endif
