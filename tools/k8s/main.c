/* foyer-k8s [OPTIONS] [FILE...]: Kubernetes manifests (kubectl get ... -o yaml or
 * -o json) to foyer configuration pieces. See man/foyer-k8s.1.
 *
 * Exit status: 0; 1 when something was reported and --strict is given; 2 when the
 * input is not valid (or the output cannot be written). Nothing is written unless
 * the status is 0, so a pipeline never installs half a translation. */
#include "k8s.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct opts opt = {.outdir = ".",
                   .cluster_domain = "cluster.local",
                   .default_ns = "default",
                   .http_port = 80,
                   .https_port = 443,
                   .resolve = 1};

static void usage(FILE *f)
{
    fputs(
        "usage: foyer-k8s [OPTIONS] [FILE...]   (no FILE or -: standard input)\n"
        "  -o, --output DIR          write the pieces there (default: .)\n"
        "  -n, --namespace NS        namespace of objects that give none (default)\n"
        "      --ingress-class NAME  only Ingresses of this class (and classless ones)\n"
        "      --gateway-class NAME  only Gateways of this GatewayClass\n"
        "      --tls-dir DIR         Secret NS/NAME is DIR/NS/NAME/tls.crt and tls.key\n"
        "      --listen ADDR         also write foyer.lua, listening on ADDR\n"
        "      --http-port N         the Ingresses' HTTP port (80)\n"
        "      --https-port N        the Ingresses' HTTPS port (443)\n"
        "      --cluster-domain D    Service DNS names end in .svc.D (cluster.local)\n"
        "      --no-resolve          never resolve a Service's DNS name\n"
        "      --strict              anything reported is an error (exit 1)\n"
        "  -h, --help\n",
        f);
}

static long port_arg(const char *name, const char *s)
{
    char *end;
    long p = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || p < 1 || p > 65535) {
        fprintf(stderr, "foyer-k8s: %s: expected a port, got '%s'\n", name, s);
        exit(2);
    }
    return p;
}

/* Certificate paths go into the configuration: absolute, whatever foyer's cwd. */
static const char *absolute_dir(const char *name, const char *dir)
{
    char real[PATH_MAX];
    if (realpath(dir, real) == NULL) {
        fprintf(stderr, "foyer-k8s: %s %s: %s\n", name, dir, strerror(errno));
        exit(2);
    }
    return k8s_strdup(real);
}

static int parse_args(int argc, char **argv)
{
    enum {
        INGRESS_CLASS = 256,
        GATEWAY_CLASS,
        TLS_DIR,
        LISTEN,
        HTTP_PORT,
        HTTPS_PORT,
        CLUSTER_DOMAIN,
        NO_RESOLVE,
        STRICT
    };
    static const struct option longs[] = {
        {"output", required_argument, NULL, 'o'},
        {"namespace", required_argument, NULL, 'n'},
        {"ingress-class", required_argument, NULL, INGRESS_CLASS},
        {"gateway-class", required_argument, NULL, GATEWAY_CLASS},
        {"tls-dir", required_argument, NULL, TLS_DIR},
        {"listen", required_argument, NULL, LISTEN},
        {"http-port", required_argument, NULL, HTTP_PORT},
        {"https-port", required_argument, NULL, HTTPS_PORT},
        {"cluster-domain", required_argument, NULL, CLUSTER_DOMAIN},
        {"no-resolve", no_argument, NULL, NO_RESOLVE},
        {"strict", no_argument, NULL, STRICT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:n:h", longs, NULL)) != -1) {
        switch (c) {
        case 'o':
            opt.outdir = optarg;
            break;
        case 'n':
            opt.default_ns = optarg;
            break;
        case INGRESS_CLASS:
            opt.ingress_class = optarg;
            break;
        case GATEWAY_CLASS:
            opt.gateway_class = optarg;
            break;
        case TLS_DIR:
            opt.tls_dir = absolute_dir("--tls-dir", optarg);
            break;
        case LISTEN:
            opt.listen_addr = optarg;
            break;
        case HTTP_PORT:
            opt.http_port = port_arg("--http-port", optarg);
            break;
        case HTTPS_PORT:
            opt.https_port = port_arg("--https-port", optarg);
            break;
        case CLUSTER_DOMAIN:
            opt.cluster_domain = optarg;
            break;
        case NO_RESOLVE:
            opt.resolve = 0;
            break;
        case STRICT:
            opt.strict = 1;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    return optind;
}

/* ---- what the input holds -------------------------------------------------------- */

/* The kinds foyer-k8s reads and the API versions it knows their shape in. */
static const char *const kinds[][3] = {
    {"Ingress", "networking.k8s.io/v1", NULL},
    {"IngressClass", "networking.k8s.io/v1", NULL},
    {"Gateway", "gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"},
    {"GatewayClass", "gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"},
    {"HTTPRoute", "gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"},
    {"ReferenceGrant", "gateway.networking.k8s.io/v1beta1",
     "gateway.networking.k8s.io/v1"},
    {"Service", "v1", NULL},
    {"EndpointSlice", "discovery.k8s.io/v1", NULL}};

/* NULL when foyer-k8s reads the object, else why not. */
static const char *not_read(const struct obj *o)
{
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        if (strcmp(kinds[i][0], o->kind) != 0) continue;
        if (strcmp(kinds[i][1], o->api) == 0 ||
            (kinds[i][2] && !strcmp(kinds[i][2], o->api)))
            return NULL;
        return k8s_printf("apiVersion %s is not supported (%s is): left out", o->api,
                          kinds[i][1]);
    }
    if (strcmp(o->kind, "Endpoints") == 0)
        return "not read (endpoints come from EndpointSlices)";
    if (strcmp(o->kind, "Secret") == 0)
        return "not read (certificates come from --tls-dir)";
    return "not used by foyer-k8s (ignored)";
}

/* Reports what is not read, and keeps the rest in all. */
static void keep_readable(struct objs *all)
{
    size_t n = 0;
    for (size_t i = 0; i < all->n; i++) {
        const char *why = not_read(&all->v[i]);
        struct at a;
        at_init(&a, &all->v[i]);
        if (why != NULL)
            warn_at(&a, NULL, "%s", why);
        else
            all->v[n++] = all->v[i];
    }
    all->n = n;
}

/* An object given twice (two files, or a List and a file) is read once: the
 * first. The index is made again without the others. */
static void drop_duplicates(struct objs *all)
{
    size_t n = 0;
    index_build(all);
    for (size_t i = 0; i < all->n; i++) {
        const struct obj *o = &all->v[i];
        struct at a;
        at_init(&a, o);
        if (index_find(o->kind, o->ns, o->name) == o)
            all->v[n++] = *o;
        else
            warn_at(&a, NULL, "given twice: the first one is used");
    }
    all->n = n;
    index_build(all);
}

static int read_inputs(int argc, char **argv, struct objs *all, struct out *o)
{
    static char *stdin_only[] = {"-"};
    int rc = 0;
    if (argc == 0) {
        argv = stdin_only;
        argc = 1;
    }
    o->inputs = k8s_alloc((size_t)argc * sizeof *o->inputs);
    for (int i = 0; i < argc; i++) {
        if (manifest_read(argv[i], opt.default_ns, all) != 0) rc = -1;
        o->inputs[o->ninputs++] = strcmp(argv[i], "-") ? argv[i] : "<stdin>";
    }
    return rc;
}

static int prepare_outdir(void)
{
    if (mkdir(opt.outdir, 0755) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "foyer-k8s: %s: %s\n", opt.outdir, strerror(errno));
    return -1;
}

int main(int argc, char **argv)
{
    int first = parse_args(argc, argv);
    struct objs all = {0};
    struct out o = {0};
    int rc = read_inputs(argc - first, argv + first, &all, &o) == 0 ? 0 : 2;
    if (rc == 0) {
        keep_readable(&all);
        drop_duplicates(&all);
        ingress_translate(&o);
        gateway_translate(&o);
        out_check(&o);
    }
    if (diag_errors() > 0)
        rc = 2;
    else if (opt.strict && diag_warnings() > 0)
        rc = 1;
    if (rc != 0) {
        fprintf(stderr, "foyer-k8s: %u error(s), %u warning(s): nothing written\n",
                diag_errors(), diag_warnings());
    } else if (prepare_outdir() != 0 || emit_all(&o) != 0) {
        fprintf(stderr, "foyer-k8s: the output in %s is incomplete\n", opt.outdir);
        rc = 2;
    }
    k8s_arena_free();
    return rc;
}
