/* The ingress-nginx annotations foyer's router can honour:
 *
 *   rewrite-target          URLRewrite ReplaceFullPath (nginx's `rewrite` replaces
 *                           the whole path); the documented capture form, path
 *                           `P(/|$)(.*)` with target `T$2`, becomes the prefix P
 *                           with ReplacePrefixMatch T
 *   ssl-redirect,           308 to https:// for plain HTTP requests (ssl-redirect
 *   force-ssl-redirect      only for the hosts of the Ingress's tls section)
 *   canary, canary-weight, canary-weight-total, canary-by-header(-value)
 *                           merged into the main Ingress's path: weighted
 *                           backends, and header matches that force a side
 *   backend-protocol        HTTPS: endpoints written https:// (not verified,
 *                           as ingress-nginx does by default)
 *
 * Every other annotation is reported. Bookkeeping annotations of tools
 * (kubectl, Helm, Argo CD, ...) say nothing about routing and are skipped. */
#include "k8s.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NGX "nginx.ingress.kubernetes.io/"

static const char *const bookkeeping[] = {"kubectl.kubernetes.io/",
                                          "meta.helm.sh/",
                                          "helm.sh/",
                                          "argocd.argoproj.io/",
                                          "kapp.k14s.io/",
                                          "deployment.kubernetes.io/",
                                          "field.cattle.io/",
                                          "kustomize.config.k8s.io/",
                                          NULL};

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static int is_bookkeeping(const char *key)
{
    for (const char *const *p = bookkeeping; *p; p++)
        if (has_prefix(key, *p)) return 1;
    return strcmp(key, "kubernetes.io/ingress.class") == 0; /* read by ingress.c */
}

static int flag(struct at *a, const struct kn *v, const char *text)
{
    if (strcmp(text, "true") == 0) return 1;
    if (strcmp(text, "false") != 0) warn_at(a, v, "expected \"true\" or \"false\"");
    return 0;
}

static long number(struct at *a, const struct kn *v, const char *text, long max)
{
    char *end;
    long x = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || x < 0 || x > max) {
        warn_at(a, v, "expected a number from 0 to %ld (ignored)", max);
        return -1;
    }
    return x;
}

static void backend_protocol(struct at *a, const struct kn *v, const char *text,
                             struct ngx *n)
{
    if (strcasecmp(text, "HTTPS") == 0)
        n->backend_https = 1;
    else if (strcasecmp(text, "HTTP") != 0)
        warn_at(a, v, "backend protocol %s is not supported (HTTP used)", text);
}

/* One nginx.ingress.kubernetes.io/ annotation; 0 if it is not one foyer honours. */
static int ngx_one(struct at *a, const struct kn *v, const char *key, const char *text,
                   struct ngx *n)
{
    if (strcmp(key, "rewrite-target") == 0)
        n->rewrite_target = text;
    else if (strcmp(key, "ssl-redirect") == 0)
        n->ssl_redirect = flag(a, v, text);
    else if (strcmp(key, "force-ssl-redirect") == 0)
        n->force_ssl_redirect = flag(a, v, text);
    else if (strcmp(key, "canary") == 0)
        n->canary = flag(a, v, text);
    else if (strcmp(key, "canary-weight") == 0)
        n->canary_weight = number(a, v, text, 1000000);
    else if (strcmp(key, "canary-weight-total") == 0)
        n->canary_weight_total = number(a, v, text, 1000000);
    else if (strcmp(key, "canary-by-header") == 0)
        n->canary_header = text;
    else if (strcmp(key, "canary-by-header-value") == 0)
        n->canary_header_value = text;
    else if (strcmp(key, "backend-protocol") == 0)
        backend_protocol(a, v, text, n);
    else if (strcmp(key, "use-regex") == 0)
        n->use_regex = flag(a, v, text); /* judged path by path: ingress.c */
    else
        return 0;
    return 1;
}

void ngx_parse(struct at *a, const struct kn *ann, struct ngx *n)
{
    memset(n, 0, sizeof *n);
    n->canary_weight = n->canary_weight_total = -1;
    for (size_t i = 0; ann != NULL && ann->type == KN_MAP && i < ann->n; i++) {
        const char *key = ann->k[i], *text = kn_text(ann->v[i]);
        if (is_bookkeeping(key)) continue;
        size_t mark = at_key(a, key);
        if (text == NULL)
            warn_at(a, ann->v[i], "expected a string (ignored)");
        else if (!has_prefix(key, NGX) ||
                 !ngx_one(a, ann->v[i], key + strlen(NGX), text, n))
            warn_at(a, ann->v[i], "annotation not supported (ignored)");
        at_pop(a, mark);
    }
    if (n->canary_header_value && !n->canary_header)
        warn_at(a, ann, "canary-by-header-value without canary-by-header (ignored)");
}

/* ---- rewrite-target -------------------------------------------------------------- */

static int is_literal(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strchr(".[]()*+?{}|^$\\", s[i]) != NULL) return 0;
    return 1;
}

static struct kn *url_rewrite(const char *type, const char *value)
{
    struct kn *f = kn_new(KN_MAP, 0), *p = kn_pair("type", type, "value", value);
    kn_set(f, "type", kn_string("URLRewrite"));
    kn_set(f, "path", p);
    return f;
}

/* path `P(/|$)(.*)` and target `T$2` (T "/" or ending in '/'): the prefix P, its
 * match replaced by T, which is what the regex does to every path it matches. */
static struct kn *capture_form(const struct ngx *n, const char **path, const char **ptype)
{
    static const char tail[] = "(/|$)(.*)";
    const char *p = *path, *t = n->rewrite_target;
    size_t pl = strlen(p), tl = strlen(t), taill = sizeof tail - 1;
    if (pl <= taill || strcmp(p + pl - taill, tail) != 0 || !is_literal(p, pl - taill))
        return NULL;
    if (tl < 3 || strcmp(t + tl - 2, "$2") != 0 || t[tl - 3] != '/' ||
        !is_literal(t, tl - 2))
        return NULL;
    *path = k8s_strndup(p, pl - taill);
    *ptype = "Prefix";
    return url_rewrite("ReplacePrefixMatch", tl == 3 ? "/" : k8s_strndup(t, tl - 3));
}

struct kn *ngx_rewrite(struct at *a, const struct kn *at_node, const struct ngx *n,
                       const char **path, const char **ptype)
{
    const char *t = n->rewrite_target;
    if (t == NULL) return NULL;
    if (t[0] == '/' && strchr(t, '$') == NULL && strchr(t, '?') == NULL)
        return url_rewrite("ReplaceFullPath", t);
    struct kn *f = t[0] == '/' ? capture_form(n, path, ptype) : NULL;
    if (f == NULL)
        warn_at(a, at_node,
                "rewrite-target '%s' on path '%s' is not supported (only a path, or the "
                "form P(/|$)(.*) with T$2): not rewritten",
                t, *path);
    return f;
}
