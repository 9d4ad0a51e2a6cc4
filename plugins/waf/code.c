/*
 * plugins/waf/code.c — code injection: PHP (933xxx), Node.js / JavaScript and
 * other script runtimes (934xxx), Java, expression languages, JNDI and
 * deserialisation (944xxx).
 *
 * Each rule stands for a piece of a language's grammar that data never needs:
 * an open tag, a superglobal, a call of a function through syntax that only code
 * has, a class name of the runtime, the magic bytes of a serialised object. Names
 * of functions and classes are runtime APIs (what an exploit must call), not
 * payloads.
 *
 *   933100  PHP open tag (<?php, <?=, [php])
 *   933120  php.ini directive assignment
 *   933130  PHP superglobal ($_GET, $_SERVER ...)
 *   933135  PHP variable variables / complex syntax (${$a}, {${...}})
 *   933150  call of a dangerous PHP function (system('id'), phpinfo())
 *   933151  call of a PHP extension function (array_map (, posix_getuid( ...)
 *   933170  PHP serialized object (O:8:"stdClass":...)
 *   933180  PHP variable function call ($f(...))
 *   933200  PHP stream wrapper (php://, phar://, expect:// ...)
 *   933210  call through an array/string element ((['system'])[0]('id'))
 *   934100  Node.js: require('...'), child_process, process.mainModule ...
 *   934130  JavaScript prototype pollution (__proto__, constructor.prototype)
 *   934140  Perl @{[ ... ]} interpolation
 *   934150  Ruby process APIs (Process.spawn, IO.popen, Kernel.exec)
 *   934160  JavaScript busy loops (while(true), for(;;))
 *   944100  Java runtime / reflection / gadget class names
 *   944130  fully qualified java.* / javax.* class names
 *   944150  Log4Shell: ${jndi:...} including nested-lookup obfuscation
 *   944200  OGNL / SpEL expressions (%{(#, #_memberAccess, T(java.lang...))
 *   944210  Java serialisation magic (aced0005, rO0AB ... in any alignment)
 *   944300  base64 text that decodes to Java gadget names
 */
#include "detect.h"
#include "detect_util.h"

#include <string.h>

/* ---- PHP --------------------------------------------------------------- */

enum { CALL_ANY = 1, CALL_ARGS = 2 };

struct fn {
    const char *name; /* lower case, sorted (strcmp) */
    unsigned char need;
};

/* Dangerous PHP functions. CALL_ANY: any call "name (" is code; CALL_ARGS: the name
 * is also a word ("system", "print"), so the call must be glued to its name and
 * open on a string, a variable, a nested call or ")". */
static const struct fn php_fns[] = {
    {"assert", CALL_ARGS},
    {"base64_decode", CALL_ANY},
    {"call_user_func", CALL_ANY},
    {"call_user_func_array", CALL_ANY},
    {"create_function", CALL_ANY},
    {"dechex", CALL_ANY},
    {"die", CALL_ARGS},
    {"eval", CALL_ARGS},
    {"exec", CALL_ARGS},
    {"file_get_contents", CALL_ANY},
    {"file_put_contents", CALL_ANY},
    {"fopen", CALL_ARGS},
    {"fsockopen", CALL_ANY},
    {"fwrite", CALL_ARGS},
    {"get_defined_vars", CALL_ANY},
    {"getenv", CALL_ARGS},
    {"gethostbyname", CALL_ANY},
    {"gzinflate", CALL_ANY},
    {"gzuncompress", CALL_ANY},
    {"hexdec", CALL_ANY},
    {"highlight_file", CALL_ANY},
    {"include", CALL_ARGS},
    {"include_once", CALL_ANY},
    {"ini_set", CALL_ANY},
    {"passthru", CALL_ANY},
    {"pcntl_exec", CALL_ANY},
    {"pfsockopen", CALL_ANY},
    {"php_uname", CALL_ANY},
    {"phpinfo", CALL_ANY},
    {"phpversion", CALL_ANY},
    {"popen", CALL_ARGS},
    {"preg_replace", CALL_ARGS},
    {"print", CALL_ARGS},
    {"print_r", CALL_ANY},
    {"proc_open", CALL_ANY},
    {"readfile", CALL_ARGS},
    {"require", CALL_ARGS},
    {"require_once", CALL_ANY},
    {"shell_exec", CALL_ANY},
    {"show_source", CALL_ANY},
    {"sleep", CALL_ARGS},
    {"str_rot13", CALL_ANY},
    {"system", CALL_ARGS},
    {"unserialize", CALL_ANY},
    {"usleep", CALL_ARGS},
    {"var_dump", CALL_ANY},
    {"zlib_decode", CALL_ANY},
};

#define NPHP_FNS (sizeof php_fns / sizeof php_fns[0])

/* Length filters of the keyword tables (filled by code_tables_init()). */
static struct waf_lenfilter keyword_filter, php_fn_filter;

/* Prefixes of PHP extension function families: "prefix_anything(" is a call of
 * PHP's standard library. */
static const char *const php_prefixes[] = {
    "array_",   "str_",    "preg_",  "posix_", "pcntl_",  "proc_",    "shell_",
    "stream_",  "socket_", "curl_",  "mysql_", "mysqli_", "pg_",      "sqlite_",
    "sodium_",  "zend_",   "ob_",    "func_",  "base64_", "openssl_", "ini_",
    "php_",     "mb_",     "iconv_", "zip_",   "imap_",   "ldap_",    "ftp_",
    "opcache_", "apcu_",   "gz",     "bz",     "hash_",   "mcrypt_",  NULL};

/* Index of '(' after optional blanks and comments following an identifier, or 0. */
static size_t call_paren(const char *s, size_t n, size_t j, int *glued)
{
    *glued = j < n && s[j] == '(';
    for (int k = 0; k < 8 && j < n; k++) {
        if (waf_is_space((unsigned char)s[j])) {
            j++;
            continue;
        }
        if (j + 1 < n && s[j] == '/' &&
            s[j + 1] == '*') { /* a comment between name and ( */
            size_t e = j + 2;
            while (e + 1 < n && !(s[e] == '*' && s[e + 1] == '/'))
                e++;
            j = e + 2;
            continue;
        }
        break;
    }
    return j < n && s[j] == '(' ? j : 0;
}

/* What opens a call's argument list: code-like (string, variable, call, ")") or
 * not (a digit, a word: prose such as "system (2 planets)"). */
static int code_args(const char *s, size_t n, size_t p, int digits_ok)
{
    size_t j = waf_skip_space(s, n, p + 1);
    if (j >= n) return 0;
    unsigned char c = (unsigned char)s[j];
    if (c == '\'' || c == '"' || c == '$' || c == ')' || c == '`') return 1;
    if (digits_ok && waf_is_digit(c)) return 1;
    size_t l = waf_word_len(s, n, j);
    if (l && j + l < n && s[j + l] == '(') return 1; /* nested call */
    return 0;
}

static int php_call(const char *s, size_t n, size_t i, size_t l, struct waf_hit *hit)
{
    int glued;
    size_t p = call_paren(s, n, i + l, &glued);
    if (!p) return 0;
    const struct fn *f =
        waf_lenfilter_maybe(&php_fn_filter, s + i, l)
            ? waf_lookup_ci(s + i, l, php_fns, NPHP_FNS, sizeof php_fns[0])
            : NULL;
    if (f) {
        int sleep_like =
            waf_starts_ci(s, n, i, "sleep") || waf_starts_ci(s, n, i, "usleep");
        if (f->need == CALL_ANY || (glued && code_args(s, n, p, sleep_like)))
            return waf_hit_set(hit, 933150, WAF_PHP, 5, "PHP function call", i,
                               p + 1 - i);
        return 0;
    }
    /* every family prefix ends in '_' but gz and bz */
    if (!memchr(s + i, '_', l) && !((s[i] | 32) == 'g' || (s[i] | 32) == 'b')) return 0;
    for (const char *const *x = php_prefixes; *x; x++) {
        size_t pl = strlen(*x);
        if (l > pl + 1 && waf_starts_ci(s, n, i, *x) &&
            (pl > 2 || waf_is_alpha((unsigned char)s[i + pl])))
            return waf_hit_set(hit, 933151, WAF_PHP, 5, "PHP library function call", i,
                               p + 1 - i);
    }
    return 0;
}

static const char *const superglobals[] = {
    "_get",   "_post", "_server",  "_cookie", "_request",
    "_files", "_env",  "_session", "globals", "http_raw_post_data",
    NULL};

static int php_dollar(const char *s, size_t n, size_t i, struct waf_hit *hit)
{
    size_t j = i + 1;
    for (const char *const *g = superglobals; *g; g++) {
        size_t gl = strlen(*g);
        if (waf_starts_ci(s, n, j, *g) &&
            (j + gl >= n || !waf_is_word((unsigned char)s[j + gl])))
            return waf_hit_set(hit, 933130, WAF_PHP, 5, "PHP superglobal", i, gl + 1);
    }
    size_t k = waf_skip_space(s, n, j);
    if (k < n && s[k] == '{') {
        size_t m = waf_skip_space(s, n, k + 1);
        if (m < n && (s[m] == '$' || s[m] == '@'))
            return waf_hit_set(hit, 933135, WAF_PHP, 5, "PHP variable variable", i,
                               m + 1 - i);
    }
    size_t l = waf_word_len(s, n, j);
    if (l && (waf_is_alpha((unsigned char)s[j]) || s[j] == '_')) {
        int glued;
        size_t p = call_paren(s, n, j + l, &glued);
        if (p && glued && code_args(s, n, p, 1))
            return waf_hit_set(hit, 933180, WAF_PHP, 5, "PHP variable function call", i,
                               p + 1 - i);
    }
    return 0;
}

/* O:8:"stdClass":1:{ / C:11:"ArrayObject":... */
static int php_serialized(const char *s, size_t n, size_t i)
{
    if (i > 0 && waf_is_word((unsigned char)s[i - 1])) return 0;
    if (i + 2 >= n || (s[i] != 'O' && s[i] != 'C') || s[i + 1] != ':') return 0;
    size_t j = i + 2, d = 0;
    while (j < n && waf_is_digit((unsigned char)s[j]))
        j++, d++;
    if (!d || j + 1 >= n || s[j] != ':' || s[j + 1] != '"') return 0;
    j += 2;
    size_t c = 0;
    while (j < n && (waf_is_word((unsigned char)s[j]) || s[j] == '\\'))
        j++, c++;
    return c && j + 2 < n && s[j] == '"' && s[j + 1] == ':' &&
           waf_is_digit((unsigned char)s[j + 2]);
}

static const char *const wrappers[] = {
    "php://",           "phar://",           "zip://", "expect://", "glob://",
    "compress.zlib://", "compress.bzip2://", "ogg://", "rar://",    NULL};

static const char *const ini_directives[] = {"allow_url_include",
                                             "allow_url_fopen",
                                             "auto_prepend_file",
                                             "auto_append_file",
                                             "disable_functions",
                                             "open_basedir",
                                             "zend_extension",
                                             "include_path",
                                             "register_globals",
                                             "safe_mode",
                                             "upload_tmp_dir",
                                             "opcache.",
                                             NULL};

/* php.ini "directive=value" smuggled into a value (PHP-CGI -d, .user.ini). */
static int php_ini(const char *s, size_t n, size_t i)
{
    if (i > 0 && waf_is_word((unsigned char)s[i - 1])) return 0;
    for (const char *const *d = ini_directives; *d; d++) {
        size_t l = strlen(*d);
        if (!waf_starts_ci(s, n, i, *d)) continue;
        size_t j = i + l;
        while (j < n && (waf_is_word((unsigned char)s[j]) || s[j] == '.'))
            j++;
        j = waf_skip_space(s, n, j);
        if (j < n && s[j] == '=') return 1;
    }
    if (waf_starts_ci(s, n, i, "extension")) {
        size_t j = waf_skip_space(s, n, i + 9);
        if (j < n && s[j] == '=') {
            j = waf_skip_space(s, n, j + 1);
            size_t l = 0;
            while (j + l < n && (waf_is_word((unsigned char)s[j + l]) || s[j + l] == '.'))
                l++;
            static const char *const v[] = {"true", "on", "1", NULL};
            if (waf_in_list_ci(s + j, l, v)) return 1;
            if (l > 3 && (waf_starts_ci(s, n, j + l - 3, ".so") ||
                          (l > 4 && waf_starts_ci(s, n, j + l - 4, ".dll"))))
                return 1;
        }
    }
    return 0;
}

/* (['system'])[0]('id'), {[system][0]} ('id'), console["log"](1): a call on the
 * result of an index or group, opened on a string or number. */
static int bracket_call(const char *s, size_t n, size_t i)
{
    /* s[i] is ']' or ')' or '}' */
    size_t j = waf_skip_space(s, n, i + 1);
    if (j >= n || s[j] != '(') return 0;
    size_t k = waf_skip_space(s, n, j + 1);
    if (k >= n) return 0;
    if (s[i] == ']') {
        /* the index must be a quoted name or a number: x["log"] / x[0] */
        size_t b = i;
        while (b > 0 && i - b < 64 && s[b - 1] != '[')
            b--;
        if (b == 0 || i - b > 63) return 0;
        unsigned char f = (unsigned char)s[b];
        if (!(f == '\'' || f == '"' || waf_is_digit(f) || waf_is_alpha(f))) return 0;
        return s[k] == '\'' || s[k] == '"' || waf_is_digit((unsigned char)s[k]);
    }
    return s[k] == '\'' || s[k] == '"';
}

static int detect_php(const char *s, size_t n, size_t i, int has_paren,
                      struct waf_hit *hit)
{
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '<':
        if (i + 1 < n && s[i + 1] == '?' &&
            (waf_starts_ci(s, n, i + 2, "php") || (i + 2 < n && s[i + 2] == '=')))
            return waf_hit_set(hit, 933100, WAF_PHP, 5, "PHP open tag", i, 2);
        return 0;
    case '[':
        if (waf_starts_ci(s, n, i, "[php]") || waf_starts_ci(s, n, i, "[/php]"))
            return waf_hit_set(hit, 933100, WAF_PHP, 5, "PHP open tag", i, 5);
        return 0;
    case '$':
        return php_dollar(s, n, i, hit);
    case '{':
        if (i + 1 < n && s[i + 1] == '$') {
            size_t k = waf_skip_space(s, n, i + 2);
            if (k < n && s[k] == '{')
                return waf_hit_set(hit, 933135, WAF_PHP, 5, "PHP complex syntax", i, 3);
        }
        return 0;
    case ']':
    case ')':
    case '}':
        if (bracket_call(s, n, i))
            return waf_hit_set(hit, 933210, WAF_PHP, 5, "call through an index", i, 1);
        return 0;
    case ':':
        if (i >= 1 && i + 2 < n && s[i + 1] == '/' && s[i + 2] == '/') {
            size_t b = i;
            while (b > 0 && i - b < 16 &&
                   (waf_is_alnum((unsigned char)s[b - 1]) || s[b - 1] == '.'))
                b--;
            for (const char *const *w = wrappers; *w; w++)
                if (waf_starts_ci(s, n, b, *w))
                    return waf_hit_set(hit, 933200, WAF_PHP, 5, "PHP stream wrapper", b,
                                       i + 3 - b);
        }
        return 0;
    default:
        break;
    }
    if ((c == 'O' || c == 'C') && php_serialized(s, n, i))
        return waf_hit_set(hit, 933170, WAF_PHP, 5, "PHP serialized object", i, 2);
    /* a call needs a '(' (call_paren()); most prose has none */
    if (has_paren && waf_is_alpha(c) &&
        (i == 0 || !waf_is_word((unsigned char)s[i - 1]))) {
        size_t l = waf_word_len(s, n, i);
        if (php_call(s, n, i, l, hit)) return 1;
    }
    return 0;
}

/* ---- Node.js, Ruby, Perl, JavaScript ----------------------------------- */

static int detect_node(const char *s, size_t n, size_t i, struct waf_hit *hit)
{
    unsigned char c = waf_lc((unsigned char)s[i]);
    if (c == 'r' && waf_word_at(s, n, i, "require")) {
        int glued;
        size_t p = call_paren(s, n, i + 7, &glued);
        if (p) {
            size_t k = waf_skip_space(s, n, p + 1);
            if (k < n && (s[k] == '\'' || s[k] == '"' || s[k] == '`'))
                return waf_hit_set(hit, 934100, WAF_NODE, 5, "Node.js require()", i, 8);
        }
    }
    if (c == 'f' && waf_word_at(s, n, i, "function")) {
        /* Function("return process")(): the Function constructor on a string */
        int glued;
        size_t p = call_paren(s, n, i + 8, &glued);
        if (p && s[i] == 'F') {
            size_t k = waf_skip_space(s, n, p + 1);
            if (k < n && (s[k] == '\'' || s[k] == '"' || s[k] == '`'))
                return waf_hit_set(hit, 934100, WAF_NODE, 5, "Function constructor", i,
                                   9);
        }
    }
    if (c == '_' && waf_starts_ci(s, n, i, "__proto__"))
        return waf_hit_set(hit, 934130, WAF_NODE, 5, "prototype pollution", i, 9);
    if (c == 'c' && (waf_starts_ci(s, n, i, "constructor.prototype") ||
                     waf_starts_ci(s, n, i, "constructor[prototype]") ||
                     waf_starts_ci(s, n, i, "constructor][prototype]")))
        return waf_hit_set(hit, 934130, WAF_NODE, 5, "prototype pollution", i, 11);
    if (c == '@' && i + 2 < n && s[i + 1] == '{' && waf_skip_space(s, n, i + 2) < n &&
        s[waf_skip_space(s, n, i + 2)] == '[')
        return waf_hit_set(hit, 934140, WAF_NODE, 5, "Perl interpolation", i, 3);
    if (c == 'w' && waf_word_at(s, n, i, "while")) {
        size_t j = waf_skip_space(s, n, i + 5);
        if (j < n && s[j] == '(') {
            j = waf_skip_space(s, n, j + 1);
            size_t e = j;
            while (e < n && e < j + 8 &&
                   (s[e] == '!' || s[e] == '-' || waf_is_alnum((unsigned char)s[e])))
                e++;
            size_t k = waf_skip_space(s, n, e);
            static const char *const forever[] = {"true", "1",      "!0",
                                                  "!-0",  "!false", NULL};
            if (k < n && s[k] == ')' && e > j && waf_in_list_ci(s + j, e - j, forever))
                return waf_hit_set(hit, 934160, WAF_NODE, 5, "infinite loop", i,
                                   k + 1 - i);
        }
    }
    if (c == 'f' && waf_word_at(s, n, i, "for")) {
        size_t j = waf_skip_space(s, n, i + 3);
        if (j + 2 < n && s[j] == '(' && s[waf_skip_space(s, n, j + 1)] == ';') {
            size_t k = waf_skip_space(s, n, waf_skip_space(s, n, j + 1) + 1);
            if (k < n && s[k] == ';')
                return waf_hit_set(hit, 934160, WAF_NODE, 5, "infinite loop", i, 3);
        }
    }
    return 0;
}

/* ---- Java -------------------------------------------------------------- */

static const char *const java_packages[] = {
    "lang",           "io",       "net", "nio",    "util",    "rmi",    "naming",
    "beans",          "security", "sql", "script", "runtime", "system", "reflect",
    "processbuilder", NULL};

/* java.lang.Runtime, javax.naming.InitialContext, java.ProcessBuilder, but not
 * "java.com": a dotted name with a Capitalised class or a core package. */
static int java_fqcn(const char *s, size_t n, size_t i, size_t *len)
{
    if (i > 0 && (waf_is_word((unsigned char)s[i - 1]) || s[i - 1] == '.')) return 0;
    size_t j = i + 4;
    if (j < n && (s[j] == 'x' || s[j] == 'X')) j++;
    if (j >= n || s[j] != '.') return 0;
    int segs = 0, capital = 0, core = 0;
    while (j < n && s[j] == '.' && segs < 16) {
        size_t l = waf_word_len(s, n, j + 1);
        if (!l) break;
        if (s[j + 1] >= 'A' && s[j + 1] <= 'Z') capital = 1;
        if (waf_in_list_ci(s + j + 1, l, java_packages)) core = 1;
        segs++;
        j += 1 + l;
    }
    *len = j - i;
    return segs > 0 && (capital || core);
}

/* Collapse a Log4j lookup starting at s[i] == '$' (s[i+1] == '{'): nested lookups
 * "${lower:j}", "${env:X:-j}", "${::-j}" are replaced by their result, and the
 * first letters of the outer lookup's name are written to out. Depth-bounded. */
static size_t log4j_collapse(const char *s, size_t n, size_t i, char *out, size_t cap,
                             size_t *o, int depth, int *nested)
{
    size_t j = i + 2;
    size_t start = *o;
    while (j < n && j < i + 512 && *o < cap) {
        if (s[j] == '}') return j + 1;
        if (s[j] == '$' && j + 1 < n && s[j + 1] == '{' && depth < 4) {
            *nested = 1;
            size_t inner = *o;
            j = log4j_collapse(s, n, j, out, cap, o, depth + 1, nested);
            /* keep what follows the last ":-" or the first ':' (lower:j -> j) */
            size_t keep = inner, k;
            for (k = inner; k + 1 < *o; k++)
                if (out[k] == ':' && out[k + 1] == '-') keep = k + 2;
            if (keep == inner)
                for (k = inner; k < *o; k++)
                    if (out[k] == ':') {
                        keep = k + 1;
                        break;
                    }
            memmove(out + inner, out + keep, *o - keep);
            *o -= keep - inner;
            continue;
        }
        out[(*o)++] = (char)waf_lc((unsigned char)s[j]);
        j++;
    }
    (void)start;
    return j;
}

static int log4shell(const char *s, size_t n, size_t i, struct waf_hit *hit)
{
    char buf[64];
    size_t o = 0;
    int nested = 0;
    log4j_collapse(s, n, i, buf, sizeof buf, &o, 0, &nested);
    if (o >= 5 && memcmp(buf, "jndi:", 5) == 0)
        return waf_hit_set(hit, 944150, WAF_JAVA, 5, "Log4Shell JNDI lookup", i, 2);
    /* Nesting is how lookups are obfuscated; templates never nest. */
    if (nested && o > 0 && memchr(buf, ':', o))
        return waf_hit_set(hit, 944150, WAF_JAVA, 5, "nested Log4j lookup", i, 2);
    return 0;
}

/* Base64 of AC ED 00 05 (the Java serialisation stream magic) at the three byte
 * alignments, as it shows inside a longer base64 text. */
static const char *const ser_b64[] = {"rO0AB", "ztAAU", "s7QAF", NULL};

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (waf_is_digit(c)) return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Decode a base64 run at its four possible alignments and look for Java gadget
 * names in the text it hides. Only mixed-case runs of 16+ characters qualify, so
 * hex tokens and words are never decoded. */
static int b64_gadget(const char *s, size_t i, size_t e)
{
    static const char *const names[] = {
        "runtime",    "processbuilder", "transformer", "instantiate", "closure",
        "factory",    "templatesimpl",  "classloader", "getproperty", "filewriter",
        "xmldecoder", "java.lang",      NULL};
    if (e - i > 256) e = i + 256;
    for (size_t a = 0; a < 4; a++) {
        char out[192];
        size_t m = 0;
        unsigned acc = 0;
        int bits = 0;
        for (size_t k = i + a; k < e && m < sizeof out; k++) {
            acc = acc << 6 | (unsigned)b64val((unsigned char)s[k]);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                out[m++] = (char)waf_lc((unsigned char)(acc >> bits & 0xFF));
            }
        }
        for (const char *const *t = names; *t; t++)
            if (waf_find_ci(out, m, 0, *t) != (size_t)-1) return 1;
    }
    return 0;
}

static int detect_java(const char *s, size_t n, size_t i, struct waf_hit *hit)
{
    unsigned char c = (unsigned char)s[i];
    unsigned char lc = waf_lc(c);
    if (c == '$' && i + 1 < n && s[i + 1] == '{' && log4shell(s, n, i, hit)) return 1;
    if (lc == 'j' && waf_starts_ci(s, n, i, "jndi:")) {
        static const char *const proto[] = {"ldap",  "ldaps", "rmi", "dns",  "iiop",
                                            "corba", "nds",   "nis", "http", NULL};
        size_t l = 0;
        while (i + 5 + l < n && waf_is_alpha((unsigned char)s[i + 5 + l]))
            l++;
        if (waf_in_list_ci(s + i + 5, l, proto))
            return waf_hit_set(hit, 944150, WAF_JAVA, 5, "JNDI URL", i, 5 + l);
    }
    size_t len;
    if (lc == 'j' && waf_starts_ci(s, n, i, "java") && java_fqcn(s, n, i, &len))
        return waf_hit_set(hit, 944130, WAF_JAVA, 5, "Java class name", i, len);
    if (c == '.') {
        static const char *const reflect[] = {".forname(",     ".getclass(",
                                              ".getmethod(",   ".getdeclaredmethod(",
                                              ".newinstance(", NULL};
        for (const char *const *t = reflect; *t; t++)
            if (waf_starts_ci(s, n, i, *t))
                return waf_hit_set(hit, 944100, WAF_JAVA, 5, "Java reflection call", i,
                                   strlen(*t));
    }
    if ((c == '%' || c == '$') && i + 2 < n && s[i + 1] == '{') {
        size_t k = waf_skip_space(s, n, i + 2);
        if (k < n && (s[k] == '#' || (s[k] == '(' && k + 1 < n && s[k + 1] == '#')))
            return waf_hit_set(hit, 944200, WAF_JAVA, 5, "OGNL expression", i, 2);
    }
    if (c == '@' && (waf_starts_ci(s, n, i, "@java.") || waf_starts_ci(s, n, i, "@ognl")))
        return waf_hit_set(hit, 944200, WAF_JAVA, 5, "OGNL static access", i, 5);
    if (c == 'T' && (i == 0 || !waf_is_word((unsigned char)s[i - 1]))) {
        size_t k = waf_skip_space(s, n, i + 1);
        if (k < n && s[k] == '(') {
            k = waf_skip_space(s, n, k + 1);
            size_t l = waf_word_len(s, n, k);
            if (l && k + l < n && s[k + l] == '.' && waf_is_alpha((unsigned char)s[k]))
                return waf_hit_set(hit, 944200, WAF_JAVA, 5, "SpEL type reference", i, 2);
        }
    }
    if ((lc == 'a' && waf_starts_ci(s, n, i, "aced0005")) ||
        (c == 0xAC && i + 3 < n && (unsigned char)s[i + 1] == 0xED && s[i + 2] == 0 &&
         s[i + 3] == 5))
        return waf_hit_set(hit, 944210, WAF_JAVA, 5, "Java serialized object", i, 4);
    return 0;
}

/* Base64 classes of a byte: 0 not base64, 1 upper case, 2 lower case, 4 other
 * (digits + - / _), as b64val() reads them. */
static const unsigned char b64_cls[256] = {
    ['A' ... 'Z'] = 1, ['a' ... 'z'] = 2, ['0' ... '9'] = 4, ['+'] = 4,
    ['-'] = 4,         ['/'] = 4,         ['_'] = 4,
};

/* Runs of base64 characters are checked once, at their start. */
static int scan_b64(const char *s, size_t n, struct waf_hit *hit)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (!b64_cls[p[i]]) {
            i++;
            continue;
        }
        size_t e = i;
        unsigned cls = 0;
        while (e < n && b64_cls[p[e]]) {
            cls |= b64_cls[p[e]];
            e++;
        }
        for (size_t k = i; k + 5 <= e; k++) {
            if (p[k] != 'r' && p[k] != 'z' && p[k] != 's') continue;
            for (const char *const *t = ser_b64; *t; t++)
                if (s[k] == (*t)[0] && memcmp(s + k, *t, 5) == 0)
                    return waf_hit_set(hit, 944210, WAF_JAVA, 5,
                                       "Java serialized object (base64)", k, 5);
        }
        if (e - i >= 16 && (cls & 3) == 3 && b64_gadget(s, i, e))
            return waf_hit_set(hit, 944300, WAF_JAVA, 5, "base64-encoded Java gadget", i,
                               e - i);
        i = e;
    }
    return 0;
}

/* ---- keyword table ------------------------------------------------------ */

enum kw_kind { KW_NODE, KW_RUBY, KW_JAVA, KW_INI };

struct keyword {
    const char *ident; /* lower case, sorted (strcmp); the word at a word start */
    const char *rest;  /* what must follow the word (case-insensitive) */
    unsigned char kind;
};

/* Runtime APIs an exploit must name: Node.js process access, Ruby process
 * spawning, Java runtime/reflection/deserialisation-gadget classes, and php.ini
 * directives. One lookup per word instead of one comparison per token. */
static const struct keyword keywords[] = {
    {"_memberaccess", "", KW_JAVA},
    {"allow_url_fopen", "", KW_INI},
    {"allow_url_include", "", KW_INI},
    {"auto_append_file", "", KW_INI},
    {"auto_prepend_file", "", KW_INI},
    {"bsh", ".interpreter", KW_JAVA},
    {"chainedtransformer", "", KW_JAVA},
    {"child_process", "", KW_NODE},
    {"classloader", "", KW_JAVA},
    {"clonetransformer", "", KW_JAVA},
    {"commons", ".collections", KW_JAVA},
    {"constanttransformer", "", KW_JAVA},
    {"constructor", ".constructor", KW_NODE},
    {"defaultmemberaccess", "", KW_JAVA},
    {"disable_functions", "", KW_INI},
    {"execsync", "(", KW_NODE},
    {"extension", "", KW_INI},
    {"forclosure", "", KW_JAVA},
    {"getruntime", "", KW_JAVA},
    {"global", ".process", KW_NODE},
    {"groovy", ".lang", KW_JAVA},
    {"include_path", "", KW_INI},
    {"instantiatefactory", "", KW_JAVA},
    {"instantiatetransformer", "", KW_JAVA},
    {"invokertransformer", "", KW_JAVA},
    {"io", ".popen(", KW_RUBY},
    {"javax", ".script", KW_JAVA},
    {"jdbcrowsetimpl", "", KW_JAVA},
    {"jndilookup", "", KW_JAVA},
    {"kernel", ".exec(", KW_RUBY},
    {"kernel", ".open(", KW_RUBY},
    {"kernel", ".spawn(", KW_RUBY},
    {"kernel", ".system(", KW_RUBY},
    {"mainmodule", ".require", KW_NODE},
    {"objectinputstream", "", KW_JAVA},
    {"ognlcontext", "", KW_JAVA},
    {"opcache", ".", KW_INI},
    {"open3", ".", KW_RUBY},
    {"open_basedir", "", KW_INI},
    {"process", ".binding", KW_NODE},
    {"process", ".dlopen", KW_NODE},
    {"process", ".kill(", KW_NODE},
    {"process", ".mainmodule", KW_NODE},
    {"process", ".spawn(", KW_RUBY},
    {"processbuilder", "", KW_JAVA},
    {"prototypeclonefactory", "", KW_JAVA},
    {"prototypeserializationfactory", "", KW_JAVA},
    {"register_globals", "", KW_INI},
    {"runtime", ".exec", KW_JAVA},
    {"safe_mode", "", KW_INI},
    {"scriptenginemanager", "", KW_JAVA},
    {"spawnsync", "(", KW_NODE},
    {"templatesimpl", "", KW_JAVA},
    {"upload_tmp_dir", "", KW_INI},
    {"whileclosure", "", KW_JAVA},
    {"xmldecoder", "", KW_JAVA},
    {"zend_extension", "", KW_INI},
};

#define NKEYWORDS (sizeof keywords / sizeof keywords[0])

__attribute__((constructor)) static void code_tables_init(void)
{
    waf_lenfilter_init(&keyword_filter, keywords, NKEYWORDS, sizeof keywords[0]);
    waf_lenfilter_init(&php_fn_filter, php_fns, NPHP_FNS, sizeof php_fns[0]);
}

static int keyword_at(const char *s, size_t n, size_t i, size_t l, struct waf_hit *hit)
{
    if (!waf_lenfilter_maybe(&keyword_filter, s + i, l)) return 0;
    const struct keyword *k = waf_lookup_ci(s + i, l, keywords, NKEYWORDS, sizeof *k);
    if (!k) return 0;
    while (k > keywords && strcmp(k[-1].ident, k->ident) == 0)
        k--;
    const char *first = k->ident;
    for (; k < keywords + NKEYWORDS && strcmp(k->ident, first) == 0; k++) {
        if (!waf_starts_ci(s, n, i + l, k->rest)) continue;
        size_t len = l + strlen(k->rest);
        switch (k->kind) {
        case KW_NODE:
            return waf_hit_set(hit, 934100, WAF_NODE, 5, "Node.js code", i, len);
        case KW_RUBY:
            return waf_hit_set(hit, 934150, WAF_NODE, 5, "Ruby process API", i, len);
        case KW_JAVA:
            return waf_hit_set(hit, 944100, WAF_JAVA, 5, "Java runtime/gadget API", i,
                               len);
        default:
            if (php_ini(s, n, i))
                return waf_hit_set(hit, 933120, WAF_PHP, 5, "php.ini directive", i, l);
            break;
        }
    }
    return 0;
}

/* ---- uploads ----------------------------------------------------------- */

static const char *const script_exts[] = {"php",  "phtml", "phar", "php3", "php4",
                                          "php5", "php7",  "php8", "pht",  "jsp",
                                          "jspx", "asp",   "aspx", NULL};

/* A file name whose extension is hidden behind blanks ("x. php", "x. php.jpg"), or
 * a header that names a server-script file (X-File-Name: a.php, a.jspx..). */
static int script_upload(const char *s, size_t n, enum waf_place place, size_t *at)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '.' || !waf_is_space((unsigned char)s[i + 1])) continue;
        size_t j = waf_skip_space(s, n, i + 1);
        size_t l = waf_word_len(s, n, j);
        if (l && waf_in_list_ci(s + j, l, script_exts) &&
            (j + l == n || s[j + l] == '.')) {
            *at = i;
            return 1;
        }
    }
    if (place != WAF_PLACE_HEADER) return 0;
    size_t e = n;
    while (e > 0 && (s[e - 1] == '.' || waf_is_space((unsigned char)s[e - 1])))
        e--;
    size_t d = e;
    while (d > 0 && waf_is_alnum((unsigned char)s[d - 1]))
        d--;
    if (d == 0 || s[d - 1] != '.' || !waf_in_list_ci(s + d, e - d, script_exts)) return 0;
    for (size_t i = 0; i < d; i++)
        if (s[i] == '/' || s[i] == ' ' || s[i] == ';' || s[i] == ',') return 0;
    *at = d - 1;
    return 1;
}

/* Where waf_detect_code() looks for a rule: the start of a run of letters
 * and digits, or one of the bytes that open PHP, Node or Java syntax. */
enum { RS_ALNUM = 1, RS_MARK = 2 };
static const unsigned char rule_start[256] = {
    ['0' ... '9'] = RS_ALNUM, ['A' ... 'Z'] = RS_ALNUM, ['a' ... 'z'] = RS_ALNUM,
    ['<'] = RS_MARK,          ['['] = RS_MARK,          ['$'] = RS_MARK,
    ['{'] = RS_MARK,          [']'] = RS_MARK,          [')'] = RS_MARK,
    ['}'] = RS_MARK,          [':'] = RS_MARK,          ['_'] = RS_MARK,
    ['@'] = RS_MARK,          ['%'] = RS_MARK,          ['.'] = RS_MARK,
    [0xAC] = RS_MARK,
};

/* The bytes at which a rule of detect_node() (bit 0) or detect_java() (bit 1)
 * can start: at any other one they return 0 without looking. */
static const unsigned char node_java_start[256] = {
    ['r'] = 1, ['R'] = 1, ['f'] = 1, ['F'] = 1, ['_'] = 1, ['c'] = 1, ['C'] = 1,
    ['w'] = 1, ['W'] = 1, ['@'] = 3, ['$'] = 2, ['j'] = 2, ['J'] = 2, ['.'] = 2,
    ['%'] = 2, ['T'] = 2, ['a'] = 2, ['A'] = 2, [0xAC] = 2};

int waf_detect_code(const char *s, size_t n, enum waf_place place, struct waf_hit *hit)
{
    if (!s || n < 4) return 0;
    size_t at;
    if ((place == WAF_PLACE_HEADER || memchr(s, ' ', n)) &&
        script_upload(s, n, place, &at))
        return waf_hit_set(hit, 933110, WAF_PHP, 5, "server-script file name", at,
                           n - at);
    int has_paren = memchr(s, '(', n) != NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        /* Rules start at the beginning of a word or on one of these bytes. */
        unsigned char k = rule_start[c];
        if (!k) continue;
        if (detect_php(s, n, i, has_paren, hit) ||
            ((node_java_start[c] & 1) && detect_node(s, n, i, hit)) ||
            ((node_java_start[c] & 2) && detect_java(s, n, i, hit)))
            return 1;
        if (waf_is_alpha(c) || c == '_') {
            size_t l = waf_word_len(s, n, i);
            if (l >= 2 && keyword_at(s, n, i, l, hit)) return 1;
        }
        if (k == RS_ALNUM) /* no rule starts inside a word: go to its end */
            while (i + 1 < n && rule_start[(unsigned char)s[i + 1]] == RS_ALNUM)
                i++;
    }
    return scan_b64(s, n, hit);
}
