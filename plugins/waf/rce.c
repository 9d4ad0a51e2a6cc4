/*
 * plugins/waf/rce.c — OS command injection (rules 932xxx).
 *
 * The class is a grammar, not a word list: a shell or cmd.exe command line is
 * "separator, then a command word, then arguments". The detector finds command
 * positions (the start of the value, or after ; | || & && newline ` $( <( >( ),
 * reads the word there the way a shell would (quotes, backslashes, carets and
 * empty expansions such as $@ dropped, a /bin/ or C:\...\ prefix reduced to the
 * base name, .exe dropped) and looks it up in a compact table of Unix and Windows
 * commands. Words that are also English ("cat", "type", "sleep") need more shell
 * context than unambiguous ones ("whoami", "wget"): a tight or strong separator,
 * or an argument shaped like an option, a path, a number, a redirection.
 *
 *   932100  separator + command
 *   932105  command at the start of the value with shell-shaped arguments
 *   932110  $IFS / ${IFS} word splitting
 *   932115  brace expansion {cmd,arg}
 *   932120  PowerShell idioms
 *   932140  cmd.exe idioms (cmd /c, if defined, %COMSPEC%)
 *   932160  absolute path to a system binary (/bin/sh, /usr/bin/id)
 *   932170  Shellshock / shell function definition () {
 *   932190  glob-obfuscated paths (/???/??t, /et*\/passwd)
 *   932200  command word obfuscated with quotes or backslashes (ca't', w\hoami)
 *   932210  /dev/tcp, /dev/udp redirections
 *   932270  tilde expansion ~+ ~-
 */
#include "detect.h"
#include "detect_util.h"
#include "normalize.h"

#include <string.h>

enum { AMBIG = 1, STRONG = 2 };

struct cmd {
    const char *name; /* lower case; the table is sorted by name (strcmp) */
    unsigned char kind;
};

/* Common Unix and Windows commands. STRONG: not an English word, so a command
 * position is enough; AMBIG: also a word of prose, needs shell-shaped context. */
static const struct cmd commands[] = {
    {"adduser", STRONG},    {"arp", STRONG},        {"at", AMBIG},
    {"awk", STRONG},        {"base32", STRONG},     {"base64", STRONG},
    {"bash", STRONG},       {"bitsadmin", STRONG},  {"busybox", STRONG},
    {"cat", AMBIG},         {"cd", AMBIG},          {"certutil", STRONG},
    {"chattr", STRONG},     {"chgrp", STRONG},      {"chmod", STRONG},
    {"chown", STRONG},      {"cmd", STRONG},        {"copy", AMBIG},
    {"cp", AMBIG},          {"crontab", STRONG},    {"csh", STRONG},
    {"cscript", STRONG},    {"curl", STRONG},       {"dash", AMBIG},
    {"date", AMBIG},        {"dd", AMBIG},          {"del", AMBIG},
    {"df", AMBIG},          {"dig", AMBIG},         {"dir", AMBIG},
    {"du", AMBIG},          {"echo", AMBIG},        {"egrep", STRONG},
    {"env", AMBIG},         {"eval", AMBIG},        {"exec", AMBIG},
    {"exit", AMBIG},        {"expr", AMBIG},        {"false", AMBIG},
    {"fgrep", STRONG},      {"file", AMBIG},        {"find", AMBIG},
    {"finger", AMBIG},      {"ftp", AMBIG},         {"gawk", STRONG},
    {"gcc", STRONG},        {"grep", STRONG},       {"head", AMBIG},
    {"hexdump", STRONG},    {"host", AMBIG},        {"hostname", AMBIG},
    {"icacls", STRONG},     {"id", AMBIG},          {"ifconfig", STRONG},
    {"ip", AMBIG},          {"ipconfig", STRONG},   {"iptables", STRONG},
    {"java", AMBIG},        {"jrunscript", STRONG}, {"kill", AMBIG},
    {"killall", STRONG},    {"ksh", STRONG},        {"less", AMBIG},
    {"ln", AMBIG},          {"ls", STRONG},         {"lsof", STRONG},
    {"lua", AMBIG},         {"mkdir", STRONG},      {"mkfifo", STRONG},
    {"more", AMBIG},        {"move", AMBIG},        {"mshta", STRONG},
    {"msiexec", STRONG},    {"mv", AMBIG},          {"mysql", AMBIG},
    {"nc", STRONG},         {"ncat", STRONG},       {"net", AMBIG},
    {"netcat", STRONG},     {"netsh", STRONG},      {"netstat", STRONG},
    {"nmap", STRONG},       {"node", AMBIG},        {"nohup", STRONG},
    {"nslookup", STRONG},   {"openssl", STRONG},    {"passwd", STRONG},
    {"perl", STRONG},       {"php", AMBIG},         {"ping", AMBIG},
    {"pkill", STRONG},      {"powershell", STRONG}, {"ps", AMBIG},
    {"pwd", STRONG},        {"pwsh", STRONG},       {"python", AMBIG},
    {"python2", STRONG},    {"python3", STRONG},    {"reboot", AMBIG},
    {"reg", AMBIG},         {"regedit", STRONG},    {"regsvr32", STRONG},
    {"rm", AMBIG},          {"rmdir", STRONG},      {"rsync", STRONG},
    {"ruby", AMBIG},        {"rundll32", STRONG},   {"schtasks", STRONG},
    {"scp", STRONG},        {"sed", STRONG},        {"set", AMBIG},
    {"sftp", STRONG},       {"sh", STRONG},         {"shutdown", AMBIG},
    {"sleep", AMBIG},       {"socat", STRONG},      {"sort", AMBIG},
    {"ssh", STRONG},        {"strace", STRONG},     {"sudo", STRONG},
    {"systeminfo", STRONG}, {"tail", AMBIG},        {"tar", AMBIG},
    {"taskkill", STRONG},   {"tasklist", STRONG},   {"tclsh", STRONG},
    {"tcsh", STRONG},       {"tee", AMBIG},         {"telnet", STRONG},
    {"tftp", STRONG},       {"time", AMBIG},        {"top", AMBIG},
    {"touch", AMBIG},       {"traceroute", STRONG}, {"tracert", STRONG},
    {"true", AMBIG},        {"type", AMBIG},        {"uname", STRONG},
    {"useradd", STRONG},    {"userdel", STRONG},    {"usermod", STRONG},
    {"vi", AMBIG},          {"vim", STRONG},        {"vssadmin", STRONG},
    {"wc", AMBIG},          {"wget", STRONG},       {"whoami", STRONG},
    {"wmic", STRONG},       {"wscript", STRONG},    {"xargs", STRONG},
    {"xterm", STRONG},      {"xxd", STRONG},        {"zsh", STRONG},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static struct waf_lenfilter cmd_filter;
/* shell_idioms[t] (bit t) by its first mark byte (a slot 1..6) and the byte
 * after that mark, lower case */
static unsigned char idiom_slot[256], idiom_nslots;
static unsigned idiom_after[7][256];
static unsigned char idiom_mark_at[32]; /* where shell_idioms[t]'s first mark is */
static void idioms_init(void);

__attribute__((constructor)) static void rce_tables_init(void)
{
    waf_lenfilter_init(&cmd_filter, commands, NCOMMANDS, sizeof commands[0]);
    idioms_init();
}

static int cmd_kind(const char *w, size_t len)
{
    if (!waf_lenfilter_maybe(&cmd_filter, w, len)) return 0;
    const struct cmd *c = waf_lookup_ci(w, len, commands, NCOMMANDS, sizeof commands[0]);
    return c ? c->kind : 0;
}

/* How a command position was reached. */
enum sep {
    SEP_START,  /* start of the value */
    SEP_WEAK,   /* ; | & newline: also punctuation of prose and data */
    SEP_SPACED, /* | or & with spaces on both sides ("Name | Type", "Tom & Jerry") */
    SEP_STRONG  /* ` $( && || <( >( : shell only */
};

/* '+' is a space in form encoding that some clients leave as is. */
static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '+';
}

static int is_sep_char(unsigned char c)
{
    return c == ';' || c == '|' || c == '&' || c == '`' || c == '\n' || c == '\r';
}

/* A literal backslash-n, as left by payload lists meant for echo -e. */
static int lit_newline(const char *s, size_t n, size_t i)
{
    return i + 1 < n && s[i] == '\\' && (s[i + 1] == 'n' || s[i + 1] == 'r');
}

/* Bytes that may be dropped inside a command word by a shell or cmd.exe. */
static size_t obfuscation_len(const char *s, size_t n, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    if (c == '\'' || c == '"' || c == '^') return 1;
    if (c == '\\' && i + 1 < n && waf_is_alpha((unsigned char)s[i + 1]) &&
        !lit_newline(s, n, i) && s[i + 1] != 't')
        return 1;
    if (c == '$' && i + 1 < n && (s[i + 1] == '@' || s[i + 1] == '*' || s[i + 1] == '_'))
        return 2;
    if (c == '$' && i + 2 < n && s[i + 1] == '{' && s[i + 2] == '}') return 3;
    return 0;
}

/* The word read at a command position. */
struct word {
    char buf[24];
    size_t len;     /* bytes in buf */
    size_t end;     /* input offset after the word */
    int obfuscated; /* quotes/backslashes between letters */
    int binpath;    /* reached through /bin/, /usr/bin/ ... */
};

static const char *const bin_dirs[] = {
    "/bin/",           "/usr/bin/",        "/sbin/", "/usr/sbin/",
    "/usr/local/bin/", "/usr/local/sbin/", NULL};

/* Bytes of the words read_word() reads (':' ends a word piece). */
static const unsigned char word_byte[256] = {
    ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
    ['_'] = 1,         ['-'] = 1,         ['.'] = 1,
};

/* Read a command word at i; the base name of a path, without .exe/.com/.bat. */
static void read_word(const char *s, size_t n, size_t i, struct word *w)
{
    w->len = 0;
    w->obfuscated = 0;
    w->binpath = 0;
    if (i < n && s[i] == '/')
        for (const char *const *d = bin_dirs; *d; d++)
            if (waf_starts_ci(s, n, i, *d)) w->binpath = 1;
    size_t j = i;
    while (j < n) {
        unsigned char c = (unsigned char)s[j];
        if (word_byte[c]) { /* the usual byte: a letter */
            if (w->len < sizeof w->buf) w->buf[w->len] = (char)waf_lc(c);
            w->len++;
            j++;
            continue;
        }
        if (lit_newline(s, n, j)) break;
        size_t ob = obfuscation_len(s, n, j);
        if (ob) {
            /* Quotes around the whole word are plain quoting; inside it, evasion. */
            if (w->len > 0 && j + ob < n && waf_is_alnum((unsigned char)s[j + ob]))
                w->obfuscated = 1;
            j += ob;
            continue;
        }
        if (c == '/' || (c == '\\' && w->len > 0) || c == ':') {
            w->len = 0; /* a path: keep only the last segment */
            j++;
            continue;
        }
        if (!(waf_is_word(c) || c == '-' || c == '.')) break;
        if (w->len < sizeof w->buf) w->buf[w->len] = (char)waf_lc(c);
        w->len++;
        j++;
    }
    w->end = j;
    if (w->len > sizeof w->buf) w->len = 0; /* too long to be a command */
    if (w->len > 4 && (memcmp(w->buf + w->len - 4, ".exe", 4) == 0 ||
                       memcmp(w->buf + w->len - 4, ".com", 4) == 0 ||
                       memcmp(w->buf + w->len - 4, ".bat", 4) == 0))
        w->len -= 4;
}

/* Shape of what follows a command word. */
enum next {
    NX_END,   /* end of value, separator, closing quote/paren */
    NX_FLAG,  /* -x, --long, /all (cmd.exe switch) */
    NX_PATH,  /* /abs, ~/x, C:\, %VAR%, $VAR, http://... */
    NX_REDIR, /* > < */
    NX_NUM,
    NX_QUOTE, /* a quoted argument */
    NX_WORD   /* a plain word: prose */
};

static enum next next_shape(const char *s, size_t n, size_t j, int *tight)
{
    *tight = j < n && !is_blank((unsigned char)s[j]);
    while (j < n && is_blank((unsigned char)s[j]))
        j++;
    if (waf_starts_ci(s, n, j, "${ifs}") || waf_starts_ci(s, n, j, "$ifs"))
        return NX_PATH;
    if (j >= n || lit_newline(s, n, j)) return NX_END;
    unsigned char c = (unsigned char)s[j];
    unsigned char d = j + 1 < n ? (unsigned char)s[j + 1] : 0;
    if (is_sep_char(c) || c == ')' || c == '}' || c == '#') return NX_END;
    if (c == '-' && (waf_is_alpha(d) || d == '-')) return NX_FLAG;
    if (c == '/' || c == '\\' || c == '~' || c == '$' || c == '%' || c == '.')
        return NX_PATH;
    if (waf_is_alpha(c) && d == ':' &&
        (j + 2 == n || s[j + 2] == '\\' || s[j + 2] == '/' || s[j + 2] == '"'))
        return NX_PATH; /* a drive: C:\, c:/, "c:" */
    size_t k = j;
    while (k < n && waf_is_alpha((unsigned char)s[k]))
        k++;
    if (k + 2 < n && s[k] == ':' && s[k + 1] == '/' && s[k + 2] == '/') return NX_PATH;
    if (c == '>' || c == '<') return NX_REDIR;
    if (waf_is_digit(c)) return NX_NUM;
    if (c == '\'' || c == '"') {
        /* A quote right before the end is a closing quote: the word ended. */
        size_t e = j + 1;
        while (e < n && (is_blank((unsigned char)s[e]) || s[e] == '\'' || s[e] == '"'))
            e++;
        return e >= n ? NX_END : NX_QUOTE;
    }
    return NX_WORD;
}

/* "net user", "net localgroup": the Windows account/share verbs. */
static int net_verb(const char *s, size_t n, size_t j)
{
    static const char *const verbs[] = {"user", "localgroup", "group", "share", "use",
                                        "view", "session",    "start", "stop",  NULL};
    while (j < n && is_blank((unsigned char)s[j]))
        j++;
    size_t l = waf_word_len(s, n, j);
    return l && waf_in_list_ci(s + j, l, verbs);
}

/* cmd.exe "if" with its batch operators. */
static int cmd_if(const char *s, size_t n, size_t j)
{
    static const char *const ops[] = {"defined", "exist", "errorlevel", "not", NULL};
    while (j < n && is_blank((unsigned char)s[j]))
        j++;
    size_t l = waf_word_len(s, n, j);
    if (l && waf_in_list_ci(s + j, l, ops)) return 1;
    if (j < n && s[j] == '%') { /* if %a% equ %b% */
        size_t e = j + 1;
        while (e < n && e < j + 32 && s[e] != '%')
            e++;
        e = e < n ? e + 1 : e;
        while (e < n && is_blank((unsigned char)s[e]))
            e++;
        static const char *const cmp[] = {"equ", "neq", "lss", "leq", "gtr", "geq", NULL};
        l = waf_word_len(s, n, e);
        return (l && waf_in_list_ci(s + e, l, cmp)) || waf_starts_ci(s, n, e, "==");
    }
    return 0;
}

/* Judge the command position p reached through sep; fill hit when it is one. */
static int check_position(const char *s, size_t n, size_t p, enum sep sep,
                          struct waf_hit *hit)
{
    size_t i = p;
    /* Skip blanks, opening quotes, grouping and cmd.exe's echo-off '@'. */
    while (i < n && (is_blank((unsigned char)s[i]) || s[i] == '\'' || s[i] == '"' ||
                     s[i] == '(' || s[i] == '{' || s[i] == '@'))
        i++;
    /* Prefix commands that run the next word. */
    for (int k = 0; k < 2 && i < n; k++) {
        unsigned char f = waf_lc((unsigned char)s[i]);
        if (i + 1 < n && s[i] == '.' && is_blank((unsigned char)s[i + 1]))
            i += 2;
        else if ((f == 's' || f == 'n' || f == 'e' || f == 'c') &&
                 (waf_word_at(s, n, i, "sudo") || waf_word_at(s, n, i, "nohup") ||
                  waf_word_at(s, n, i, "exec") || waf_word_at(s, n, i, "command")))
            i = waf_skip_space(s, n, i + waf_word_len(s, n, i));
        else
            break;
    }
    if (i >= n) return 0;
    unsigned char c0 = (unsigned char)s[i];
    if (!(waf_is_alpha(c0) || c0 == '/' || c0 == '\\' || c0 == '\'' || c0 == '"'))
        return 0;
    struct word w;
    read_word(s, n, i, &w);
    if (w.len == 0) return 0;
    int kind = cmd_kind(w.buf, w.len);
    int tight;
    enum next nx = next_shape(s, n, w.end, &tight);
    if (!kind) {
        /* Any word taking a GNU long option after a separator ("; rmt --version")
         * is a command line, listed or not. */
        size_t j = w.end;
        while (j < n && is_blank((unsigned char)s[j]))
            j++;
        if ((sep == SEP_WEAK || sep == SEP_STRONG) && nx == NX_FLAG && j + 2 < n &&
            s[j + 1] == '-' && waf_is_alpha((unsigned char)s[j + 2]))
            return waf_hit_set(hit, 932100, WAF_RCE, 5, "command injection", i,
                               w.end - i);
        return 0;
    }
    if (w.len == 3 && memcmp(w.buf, "net", 3) == 0 && net_verb(s, n, w.end))
        kind = STRONG, nx = NX_FLAG;
    size_t span = w.end - i;
    if (w.obfuscated || w.binpath)
        return waf_hit_set(hit, w.obfuscated ? 932200 : 932160, WAF_RCE, 5,
                           w.obfuscated ? "obfuscated shell command"
                                        : "path to a system binary",
                           i, span);
    int shaped = nx == NX_FLAG || nx == NX_PATH || nx == NX_REDIR;
    int fire = 0;
    switch (sep) {
    case SEP_STRONG:
        fire = 1;
        break;
    case SEP_WEAK:
        fire =
            kind == STRONG ? nx != NX_WORD : (nx != NX_WORD && nx != NX_QUOTE) || shaped;
        if (kind == AMBIG && nx == NX_QUOTE) fire = 1;
        break;
    case SEP_SPACED:
        fire =
            shaped || nx == NX_NUM || nx == NX_QUOTE || (kind == STRONG && nx == NX_END);
        break;
    case SEP_START:
        /* A lone word ("id", "time") or prose ("python tutorial") is data. */
        /* A lone word is data too: "pwd" is a form field name. */
        fire = shaped || (nx == NX_END && tight && w.end < n &&
                          is_sep_char((unsigned char)s[w.end]));
        if (kind == AMBIG && nx == NX_FLAG && sep == SEP_START) {
            /* "sort -name": an API sort key, not a command line; need more. */
            size_t j = w.end;
            while (j < n && is_blank((unsigned char)s[j]))
                j++;
            size_t l = 1;
            while (j + l < n && (waf_is_alnum((unsigned char)s[j + l])))
                l++;
            fire = l <= 4; /* short option clusters: -la, -an, -e, -i */
        }
        break;
    }
    if (!fire) return 0;
    return waf_hit_set(hit, sep == SEP_START ? 932105 : 932100, WAF_RCE, 5,
                       sep == SEP_START ? "shell command line" : "command injection", i,
                       span);
}

/* Case-insensitive tokens of PowerShell and cmd.exe that only ever mean code. */
static const char *const shell_idioms[] = {"invoke-expression",
                                           "invoke-webrequest",
                                           "invoke-command",
                                           "invoke-restmethod",
                                           "invoke-item",
                                           "new-object",
                                           "downloadstring(",
                                           "downloadfile(",
                                           "start-process",
                                           "set-executionpolicy",
                                           "-encodedcommand",
                                           "net.webclient",
                                           "frombase64string(",
                                           "get-wmiobject",
                                           "%comspec%",
                                           "cmd /c",
                                           "cmd.exe /c",
                                           "cmd /k",
                                           "/dev/tcp/",
                                           "/dev/udp/",
                                           "${ifs}",
                                           "$ifs",
                                           NULL};

/* Every idiom holds one of - . ( % / $ (its "mark"): the scan visits only
 * those bytes, rare in prose, and checks the idioms whose first mark it is
 * and that the byte after it can continue (one '-' has ten candidates). */
static void idioms_init(void)
{
    for (unsigned t = 0; shell_idioms[t]; t++) {
        const char *x = shell_idioms[t];
        size_t k = strcspn(x, "-.(%/$");
        unsigned char *slot = &idiom_slot[(unsigned char)x[k]];
        if (*slot == 0) *slot = ++idiom_nslots;
        idiom_mark_at[t] = (unsigned char)k;
        for (unsigned c = 0; c < 256; c++) /* a final mark: any byte may follow */
            if (x[k + 1] == '\0' || c == (unsigned char)x[k + 1])
                idiom_after[*slot][c] |= 1u << t;
    }
}

/* The idiom found first by position, then by table order. */
/* The idioms whose first mark is s[p], starting before the best one found
 * (*best, *bt: by position, then table order), update it. */
static void idioms_at_mark(const char *s, size_t n, size_t p, size_t *best, unsigned *bt)
{
    unsigned slot = idiom_slot[(unsigned char)s[p]];
    unsigned char next = p + 1 < n ? waf_lc((unsigned char)s[p + 1]) : 0;
    for (unsigned cand = idiom_after[slot][next]; cand; cand &= cand - 1) {
        unsigned t = (unsigned)__builtin_ctz(cand);
        if (p < idiom_mark_at[t]) continue;
        size_t i = p - idiom_mark_at[t];
        const char *x = shell_idioms[t];
        if (i > *best || (i == *best && t > *bt)) continue;
        /* letters only at a word start */
        if (waf_is_alpha((unsigned char)x[0]) && i > 0 &&
            waf_is_alpha((unsigned char)s[i - 1]))
            continue;
        if (waf_starts_ci(s, n, i, x)) *best = i, *bt = t;
    }
}

static int find_idiom(const char *s, size_t n, struct waf_hit *hit)
{
    size_t best = n;
    unsigned bt = 0;
    for (size_t p = 0; p < n; p++)
        if (idiom_slot[(unsigned char)s[p]]) idioms_at_mark(s, n, p, &best, &bt);
    if (best == n) return 0;
    const char *x = shell_idioms[bt];
    size_t l = strlen(x);
    if (x[0] == '$')
        return waf_hit_set(hit, 932110, WAF_RCE, 5, "shell $IFS word splitting", best, l);
    if (x[0] == '/')
        return waf_hit_set(hit, 932210, WAF_RCE, 5, "/dev/tcp redirection", best, l);
    if (x[0] == '%' || x[0] == 'c')
        return waf_hit_set(hit, 932140, WAF_RCE, 5, "cmd.exe idiom", best, l);
    return waf_hit_set(hit, 932120, WAF_RCE, 5, "PowerShell idiom", best, l);
}

/* Is there an idiom whose marks are all mark (memchr finds them)? */
static int idiom_with_mark(const char *s, size_t n, char mark)
{
    size_t best = n;
    unsigned bt = 0;
    for (const char *x = memchr(s, mark, n); x && best == n;
         x = memchr(x + 1, mark, (size_t)(s + n - x - 1)))
        idioms_at_mark(s, n, (size_t)(x - s), &best, &bt);
    return best < n;
}

/* "() {" (Shellshock) and "name() { cmd; }" shell functions. */
static int function_def(const char *s, size_t n, size_t i)
{
    if (i + 1 >= n || s[i] != '(' || s[i + 1] != ')') return 0;
    size_t j = waf_skip_space(s, n, i + 2);
    if (j >= n || s[j] != '{') return 0;
    j = waf_skip_space(s, n, j + 1);
    if (j < n && s[j] == ':') return 1; /* () { :; } */
    size_t l = waf_word_len(s, n, j);
    if (!l) return 0;
    size_t k = waf_skip_space(s, n, j + l);
    return k < n && (s[k] == ';' || s[k] == '|' || s[k] == '&' || s[k] == '\n');
}

/* {a,b} brace expansion: no blanks, quotes or colons inside (JSON has them), and
 * glued to a word or holding a command. */
static int brace_expansion(const char *s, size_t n, size_t i)
{
    size_t j = i + 1;
    int commas = 0;
    while (j < n && j < i + 64 && s[j] != '}') {
        unsigned char c = (unsigned char)s[j];
        if (c == ',')
            commas++;
        else if (!(waf_is_word(c) || c == '/' || c == '.' || c == '-' || c == '$'))
            return 0;
        j++;
    }
    if (j >= n || s[j] != '}' || commas == 0) return 0;
    int glued = (i > 0 && waf_is_alpha((unsigned char)s[i - 1])) ||
                (j + 1 < n && waf_is_alpha((unsigned char)s[j + 1]));
    if (glued) return 1;
    for (size_t k = i + 1; k < j;) {
        size_t l = 0;
        while (k + l < j && s[k + l] != ',')
            l++;
        struct word w;
        read_word(s, k + l, k, &w);
        if (w.len && cmd_kind(w.buf, w.len)) return 1;
        k += l + 1;
    }
    return 0;
}

/* "/???/??t", "/et*\/passwd": a path segment made of letters and glob marks
 * followed by another segment. */
static int glob_path(const char *s, size_t n, size_t i)
{
    size_t j = i + 1;
    int glob = 0, len = 0;
    while (j < n && (waf_is_alnum((unsigned char)s[j]) || s[j] == '?' || s[j] == '*')) {
        glob |= s[j] == '?' || s[j] == '*';
        j++;
        len++;
    }
    return glob && len >= 2 && j + 1 < n && s[j] == '/' &&
           (waf_is_alnum((unsigned char)s[j + 1]) || s[j + 1] == '?' || s[j + 1] == '*');
}

/* Separator at i: its kind and length, or 0. */
static size_t separator(const char *s, size_t n, size_t i, enum sep *kind)
{
    unsigned char c = (unsigned char)s[i], d = i + 1 < n ? (unsigned char)s[i + 1] : 0;
    if ((c == '&' && d == '&') || (c == '|' && d == '|')) {
        *kind = SEP_STRONG;
        return 2;
    }
    if ((c == '$' || c == '<' || c == '>') && d == '(') {
        *kind = SEP_STRONG;
        return 2;
    }
    if (c == '`') {
        *kind = SEP_STRONG;
        return 1;
    }
    if (c == '|' || c == '&') {
        int spaced = i > 0 && is_blank((unsigned char)s[i - 1]) && is_blank(d);
        *kind = spaced ? SEP_SPACED : SEP_WEAK;
        return 1;
    }
    if (c == ';' || c == '\n' || c == '\r') {
        *kind = SEP_WEAK;
        return 1;
    }
    if (lit_newline(s, n, i)) {
        *kind = SEP_WEAK;
        return 2;
    }
    return 0;
}

static const unsigned char rce_trigger[32] = {
    /* \n \r " $ % & ' ( ) + / ; < > \ ` { | } ~ */
    [1] = 0x24,  /* \n(0x0a) \r(0x0d) */
    [4] = 0xF4,  /* " $ % & ' (0x22 0x24-0x27) */
    [5] = 0x8B,  /* ( ) + / (0x28 0x29 0x2b 0x2f) */
    [7] = 0x58,  /* ; < > (0x3b 0x3c 0x3e) */
    [11] = 0x10, /* \ (0x5c) */
    [12] = 0x01, /* ` (0x60) */
    [15] = 0x78, /* { | } ~ (0x7b-0x7e) */
};

/* Bytes at which the main loop of waf_detect_rce() has something to check:
 * separators (and the '\\' of a literal \n), '(' '{' '/'. */
static const unsigned char loop_byte[256] = {
    [';'] = 1, ['|'] = 1, ['&'] = 1,  ['`'] = 1, ['\n'] = 1, ['\r'] = 1, ['$'] = 1,
    ['<'] = 1, ['>'] = 1, ['\\'] = 1, ['('] = 1, ['{'] = 1,  ['/'] = 1,
};

/* One path-like token ("/size/100", "img/a.png"): read whole as one command word
 * with nothing after it, it fires at the start only through a system binary's
 * directory (/bin/sh), which the loop of waf_detect_rce() checks at every '/'. */
static int path_token(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!word_byte[(unsigned char)s[i]] && s[i] != '/') return 0;
    return 1;
}

int waf_detect_rce(const char *s, size_t n, enum waf_place place, struct waf_hit *hit)
{
    (void)place;
    if (!s || n < 2) return 0;
    if (!waf_has_any(s, n, rce_trigger)) {
        /* No shell syntax at all: only "whoami"-style lone commands remain. */
        size_t i = waf_skip_space(s, n, 0);
        size_t l = waf_word_len(s, n, i);
        if (!l || (cmd_kind(s + i, l) != STRONG && !waf_word_at(s, n, i, "if"))) return 0;
    }
    if (!path_token(s, n) && check_position(s, n, 0, SEP_START, hit)) return 1;
    if (find_idiom(s, n, hit)) return 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!loop_byte[c]) continue; /* letters, digits, spaces: nothing starts here */
        enum sep kind;
        size_t l = separator(s, n, i, &kind);
        if (l) {
            if (check_position(s, n, i + l, kind, hit)) return 1;
            if (c == ';' || c == '&' || c == '|') {
                /* "; if defined x", "& if %a% equ %b%" */
                size_t j = i + l;
                while (j < n && is_blank((unsigned char)s[j]))
                    j++;
                if (waf_word_at(s, n, j, "if") && cmd_if(s, n, j + 2))
                    return waf_hit_set(hit, 932140, WAF_RCE, 5, "cmd.exe idiom", j, 2);
            }
            i += l - 1;
            continue;
        }
        if (c == '(' && function_def(s, n, i))
            return waf_hit_set(hit, 932170, WAF_RCE, 5, "shell function definition", i,
                               2);
        if (c == '{' && brace_expansion(s, n, i))
            return waf_hit_set(hit, 932115, WAF_RCE, 5, "shell brace expansion", i, 1);
        if (c == '/' && (i == 0 || !waf_is_alnum((unsigned char)s[i - 1]))) {
            unsigned char d1 = i + 1 < n ? waf_lc((unsigned char)s[i + 1]) : 0;
            for (const char *const *d = bin_dirs;
                 (d1 == 'b' || d1 == 'u' || d1 == 's') && *d;
                 d++) /* every one starts "/b" "/u" or "/s" */
                if (waf_starts_ci(s, n, i, *d) && i + strlen(*d) < n &&
                    (waf_is_alpha((unsigned char)s[i + strlen(*d)]) ||
                     s[i + strlen(*d)] == '?' || s[i + strlen(*d)] == '*'))
                    return waf_hit_set(hit, 932160, WAF_RCE, 5, "path to a system binary",
                                       i, strlen(*d));
            if (glob_path(s, n, i))
                return waf_hit_set(hit, 932190, WAF_RCE, 5, "glob-obfuscated path", i, 1);
        }
    }
    size_t a = waf_skip_space(s, n, 0);
    if (waf_word_at(s, n, a, "if") && cmd_if(s, n, a + 2))
        return waf_hit_set(hit, 932140, WAF_RCE, 5, "cmd.exe idiom", a, 2);
    if (n - a >= 2 && s[a] == '~' && (s[a + 1] == '+' || s[a + 1] == '-') &&
        (a + 2 == n || s[a + 2] == '/'))
        return waf_hit_set(hit, 932270, WAF_RCE, 5, "shell tilde expansion", a, 2);
    return 0;
}

/* A quote between two letters or digits ("it's", "O'Brien"): read_word()
 * reads through it, joining the two runs of word bytes into one word. */
static inline int inword_quote(const unsigned char *p, size_t n, size_t i)
{
    return (p[i] == '\'' || p[i] == '"') && i > 0 && i + 1 < n &&
           waf_is_alnum(p[i - 1]) && waf_is_alnum(p[i + 1]);
}

/* Is every quote of s inside a word? which: bit 0 for '\'', bit 1 for '"'
 * (a quote s lacks need not be looked for). */
static int quotes_inword(const unsigned char *p, size_t n, unsigned which)
{
    for (const char *q = "'\"", *end = q + 2; q < end; q++, which >>= 1)
        for (const unsigned char *x = (which & 1) ? memchr(p, *q, n) : NULL; x;
             x = memchr(x + 1, *q, (size_t)(p + n - x - 1)))
            if (!inword_quote(p, n, (size_t)(x - p))) return 0;
    return 1;
}

/* The word read_word() reads from run start i: the runs of word bytes joined
 * through in-word quotes, folded into w (*l bytes; more than cap: too long).
 * Returns its end. */
static size_t joined_word(const unsigned char *p, size_t n, size_t i, char *w, size_t cap,
                          size_t *l)
{
    size_t e = i;
    *l = 0;
    while (e < n && (word_byte[p[e]] ||
                     ((p[e] == '\'' || p[e] == '"') && inword_quote(p, n, e)))) {
        if (word_byte[p[e]] && (*l)++ < cap) w[*l - 1] = (char)waf_lc(p[e]);
        e++;
    }
    return e;
}

/* Could the word piece s[i..) that read_word() reads be a command, or an
 * "if" that cmd.exe reads as a condition? Sets *end after it. */
static int command_piece(const unsigned char *p, size_t n, size_t i, int quotes,
                         size_t *end)
{
    char buf[sizeof((struct word *)0)->buf];
    const char *w = (const char *)p + i; /* cmd_kind() ignores case */
    size_t e = i + 1, l;
    while (e < n && word_byte[p[e]])
        e++;
    if (quotes && e < n && inword_quote(p, n, e)) {
        e = joined_word(p, n, i, buf, sizeof buf, &l);
        w = buf;
    } else {
        l = e - i;
    }
    *end = e;
    if (l > sizeof buf) return 0; /* too long to be a command */
    if (l > 4 &&
        (waf_starts_ci(w, l, l - 4, ".exe") || waf_starts_ci(w, l, l - 4, ".com") ||
         waf_starts_ci(w, l, l - 4, ".bat")))
        l -= 4;
    if (cmd_kind(w, l)) return 1;
    return l == 2 && (w[0] | 0x20) == 'i' && (w[1] | 0x20) == 'f' &&
           cmd_if((const char *)p, n, e);
}

/* The word at i as read_word() reads it: a ':' starts it again ("c:cat"), so
 * every piece counts. */
static int command_word(const unsigned char *p, size_t n, size_t i, int quotes)
{
    size_t e;
    for (;;) {
        if (command_piece(p, n, i, quotes, &e)) return 1;
        while (e < n && p[e] == ':')
            e++;
        if (e >= n || !word_byte[p[e]]) return 0;
        i = e;
    }
}

/* Can check_position() (or the "if" test) fire at the command position i of a
 * value without shell syntax? Its words, through up to two prefix commands,
 * are read there; one must be a command or a cmd.exe "if". */
static int position_possible(const unsigned char *p, size_t n, size_t i, int quotes)
{
    const char *s = (const char *)p;
    for (int k = 0; k < 3; k++) {
        /* what check_position() skips; read_word() skips opening quotes */
        while (i < n && (is_blank(p[i]) || p[i] == '@' || p[i] == '\'' || p[i] == '"' ||
                         p[i] == '('))
            i++;
        if (i >= n || !word_byte[p[i]]) return 0;
        if (command_word(p, n, i, quotes)) return 1;
        if (p[i] == '.' && i + 1 < n && is_blank(p[i + 1]))
            i = waf_skip_space(s, n, i + 2);
        else if (waf_word_at(s, n, i, "sudo") || waf_word_at(s, n, i, "nohup") ||
                 waf_word_at(s, n, i, "exec") || waf_word_at(s, n, i, "command"))
            i = waf_skip_space(s, n, i + waf_word_len(s, n, i));
        else
            return 0;
    }
    return 0;
}

/* Byte classes of waf_rce_possible(). Shell syntax: bytes after which
 * waf_detect_rce() reads more than plain words: obfuscation (` ^ \ $),
 * groups ({), paths and globs (/ ~), cmd.exe variables (%), line breaks.
 * Apart: quotes (inside a word they only join it), '(' (it opens a command
 * position, a "()" function or a .NET call idiom), and the marks of the other
 * idioms ('-' '.'). */
enum { R_SYN = 1, R_QUOTE = 2, R_MARK = 4, R_PAREN = 8, R_SEP = 16 };
static const unsigned char rce_class[256] = {
    ['('] = R_PAREN | R_SEP, [';'] = R_SEP,  ['&'] = R_SEP,    ['|'] = R_SEP,
    ['{'] = R_SYN,           ['/'] = R_SYN,  ['~'] = R_SYN,    ['$'] = R_SYN,
    ['%'] = R_SYN,           ['`'] = R_SYN,  ['\\'] = R_SYN,   ['^'] = R_SYN,
    ['\n'] = R_SYN,          ['\r'] = R_SYN, ['\''] = R_QUOTE, ['"'] = R_QUOTE,
    ['-'] = R_MARK,          ['.'] = R_MARK,
};

/* A GNU long option, "--" and a letter ("--version"): after a word that is no
 * command, the only way "--" makes a command line. Prose dashes ("cheese --
 * doctor's orders") are spaced. */
static int long_option(const char *s, size_t n)
{
    for (const char *d = memchr(s, '-', n); d && d + 2 < s + n;
         d = memchr(d + 1, '-', (size_t)(s + n - d - 1)))
        if (d[1] == '-' && waf_is_alpha((unsigned char)d[2])) return 1;
    return 0;
}

/* "()", as a shell function definition starts (memmem costs more on short
 * values). */
static int function_parens(const char *s, size_t n)
{
    for (const char *d = memchr(s, '(', n); d && d + 1 < s + n;
         d = memchr(d + 1, '(', (size_t)(s + n - d - 1)))
        if (d[1] == ')') return 1;
    return 0;
}

/* The separators left in a value without shell syntax ("&&" and "||" are
 * two of them), and '(': "<(", ">(" and a subshell put a command after it;
 * bit k stands for sep_chars[k] of possible_classes(). */
enum { SEP_SEMI = 1, SEP_AMP = 2, SEP_PIPE = 4, SEP_PAREN = 8, SEP_ALL = 15 };
/* The quotes of quotes_inword(), shifted: '\'' and '"'; the marks '-' '.'. */
enum { Q_SHIFT = 4, Q_SINGLE = 1 << Q_SHIFT, Q_DOUBLE = 2 << Q_SHIFT };
enum { MK_DASH = 64, MK_DOT = 128 };

/* waf_rce_possible() once the classes m (R_xxx) of s are known, and which
 * separators, quotes and marks (SEP_xxx, Q_xxx, MK_xxx) it may hold; they
 * may name bytes s lacks (the tests behind them then find nothing). */
static int possible_classes(const char *s, size_t n, unsigned m, unsigned seps)
{
    const unsigned char *p = (const unsigned char *)s;
    /* quoting (but quotes inside words), substitutions, paths, escapes */
    if ((m & R_SYN) || ((m & R_QUOTE) && !quotes_inword(p, n, seps >> Q_SHIFT))) return 1;
    /* "--long" options make any word after a separator a command line; the
     * remaining idioms (Invoke-Expression, net.webclient, -EncodedCommand)
     * have '-' or '.' */
    if ((m & R_PAREN) && (function_parens(s, n) || idiom_with_mark(s, n, '('))) return 1;
    if ((m & R_MARK) && (seps & MK_DASH) &&
        (long_option(s, n) || idiom_with_mark(s, n, '-')))
        return 1;
    if ((m & R_MARK) && (seps & MK_DOT) && idiom_with_mark(s, n, '.')) return 1;
    /* What is left is words and separators (; & |): the command positions are
     * the start and the bytes after a separator. */
    int quotes = (m & R_QUOTE) != 0;
    if (position_possible(p, n, 0, quotes)) return 1;
    if (!(m & R_SEP)) return 0;
    static const char sep_chars[4] = {';', '&', '|', '('};
    for (int k = 0; k < 4; k++) { /* any order: a position anywhere decides */
        if (!(seps & (1u << k))) continue;
        for (const char *x = memchr(s, sep_chars[k], n); x;
             x = memchr(x + 1, sep_chars[k], (size_t)(s + n - x - 1)))
            if (position_possible(p, n, (size_t)(x - s) + 1, quotes)) return 1;
    }
    return 0;
}

int waf_rce_possible(const char *s, size_t n)
{
    return possible_classes(s, n, waf_classes(rce_class, s, n),
                            SEP_ALL | Q_SINGLE | Q_DOUBLE | MK_DASH | MK_DOT);
}

/* The classes from the charset instead of a pass over s; '~' '^' and CR/LF
 * share their charset bits with prose bytes ('!', TAB), so those values
 * still take the pass. '-' has no bit: one memchr. */
int waf_rce_possible_cs(const char *s, size_t n, unsigned cs)
{
    if (cs & (WAF_CS_OTHER | WAF_CS_CTL)) return waf_rce_possible(s, n);
    if (cs & (WAF_CS_BRACE | WAF_CS_SLASH | WAF_CS_DOLLAR | WAF_CS_PCT | WAF_CS_BTICK |
              WAF_CS_BSLASH))
        return 1; /* R_SYN */
    unsigned m = 0, seps = 0;
    if (cs & WAF_CS_SQUOTE) m |= R_QUOTE, seps |= Q_SINGLE;
    if (cs & WAF_CS_DQUOTE) m |= R_QUOTE, seps |= Q_DOUBLE;
    if (cs & WAF_CS_PAREN) m |= R_PAREN | R_SEP, seps |= SEP_PAREN; /* or ')' */
    if (cs & WAF_CS_SEMI) m |= R_SEP, seps |= SEP_SEMI;
    if (cs & WAF_CS_AMP) m |= R_SEP, seps |= SEP_AMP;
    if (cs & WAF_CS_PIPE) m |= R_SEP, seps |= SEP_PIPE;
    if (cs & WAF_CS_DOT) m |= R_MARK, seps |= MK_DOT;
    if (n && memchr(s, '-', n)) m |= R_MARK, seps |= MK_DASH;
    return possible_classes(s, n, m, seps);
}
