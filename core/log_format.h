/* Access-log line formats: "foyer" (the default), "combined" (byte for byte
 * nginx's default), "json" (one object a line), or a template of named
 * fields, `$client [$time_local] "$request" $status $request_id ...`,
 * compiled once when the configuration loads. */
#ifndef FOYER_LOG_FORMAT_H
#define FOYER_LOG_FORMAT_H

#include <stddef.h>

struct foyer_conn;
struct foyer_request;
struct foyer_log_format;

/* What one access-log line can tell. */
struct foyer_log_entry {
    struct foyer_conn *c;
    struct foyer_request *r;
    int status;
    size_t bytes;      /* all bytes sent to the client */
    size_t body_bytes; /* of which response body */
    double duration;   /* seconds from the request head to the end */
    double
        upstream_time; /* seconds from the request sent to the response end, <0: none */
    const char *service, *endpoint, *tag, *request_id; /* NULL: "-" */
};

/* Compiles a format name or template; NULL with a message on an unknown
 * field or format. */
struct foyer_log_format *foyer_log_format_compile(const char *spec, char *err,
                                                  size_t errlen);
void foyer_log_format_free(struct foyer_log_format *f);
/* Writes one line (newline included) into out; its length (< len). */
size_t foyer_log_format_line(const struct foyer_log_format *f,
                             const struct foyer_log_entry *e, char *out, size_t len);
/* The fields a template may name, for messages and docs. */
extern const char foyer_log_fields[];

#endif
