#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, in_port_t *port)
{
    if (*s == '\0' || strlen(s) > 5) return -1;
    unsigned v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (unsigned)(*s - '0');
    }
    if (v > 65535) return -1;
    *port = htons((in_port_t)v);
    return 0;
}

int foyer_addr_parse(const char *text, union foyer_sockaddr *out, socklen_t *len,
                     const char **err)
{
    char host[64];
    const char *colon;
    memset(out, 0, sizeof *out);
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':' ||
            (size_t)(close - text - 1) >= sizeof host) {
            *err = "expected [IPv6]:port";
            return -1;
        }
        memcpy(host, text + 1, close - text - 1);
        host[close - text - 1] = '\0';
        if (inet_pton(AF_INET6, host, &out->sin6.sin6_addr) != 1) {
            *err = "invalid IPv6 address";
            return -1;
        }
        out->sin6.sin6_family = AF_INET6;
        if (parse_port(close + 2, &out->sin6.sin6_port) != 0) {
            *err = "invalid port";
            return -1;
        }
        *len = sizeof out->sin6;
        return 0;
    }
    colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof host) {
        *err = "expected address:port";
        return -1;
    }
    memcpy(host, text, colon - text);
    host[colon - text] = '\0';
    if (strcmp(host, "*") == 0 || host[0] == '\0') strcpy(host, "0.0.0.0");
    if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &out->sin.sin_addr) != 1) {
        *err = "invalid IPv4 address (use a numeric address, or [IPv6]:port)";
        return -1;
    }
    out->sin.sin_family = AF_INET;
    if (parse_port(colon + 1, &out->sin.sin_port) != 0) {
        *err = "invalid port";
        return -1;
    }
    *len = sizeof out->sin;
    return 0;
}

/* Dotted quad without inet_ntop, which goes through printf: this runs for
 * every proxied request (X-Forwarded-For). */
static void format_ipv4(const unsigned char *b, char *out, size_t outlen)
{
    char tmp[16], *p = tmp;
    for (int i = 0; i < 4; i++) {
        unsigned v = b[i];
        if (v >= 100) *p++ = (char)('0' + v / 100);
        if (v >= 10) *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        *p++ = i < 3 ? '.' : '\0';
    }
    size_t n = (size_t)(p - tmp); /* with the terminating NUL */
    if (outlen < n) {
        if (outlen > 0) out[0] = '\0';
        return;
    }
    memcpy(out, tmp, n);
}

void foyer_addr_host(const union foyer_sockaddr *a, char *out, size_t outlen)
{
    if (a->sa.sa_family == AF_INET) {
        format_ipv4((const unsigned char *)&a->sin.sin_addr, out, outlen);
        return;
    }
    const void *src = a->sa.sa_family == AF_INET6 ? (const void *)&a->sin6.sin6_addr
                                                  : (const void *)&a->sin.sin_addr;
    if (a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->sin6.sin6_addr)) {
        inet_ntop(AF_INET, &a->sin6.sin6_addr.s6_addr[12], out, outlen);
        return;
    }
    if (inet_ntop(a->sa.sa_family, src, out, outlen) == NULL) snprintf(out, outlen, "-");
}

void foyer_addr_format(const union foyer_sockaddr *a, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN];
    foyer_addr_host(a, host, sizeof host);
    unsigned port =
        ntohs(a->sa.sa_family == AF_INET6 ? a->sin6.sin6_port : a->sin.sin_port);
    if (a->sa.sa_family == AF_INET6)
        snprintf(out, outlen, "[%s]:%u", host, port);
    else
        snprintf(out, outlen, "%s:%u", host, port);
}
