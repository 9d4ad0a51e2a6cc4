/*
 * plugins/waf/sqli.c — SQL injection detector, libinjection-style.
 *
 * The idea: an injected value must make sense as the continuation of a SQL
 * statement the application built around it. The application may have put
 * the value inside a '...' string, a "..." string, or nowhere (a number or
 * a bare word). For each of those three contexts we lex the value as SQL —
 * in the quoted contexts the value starts inside a string, so everything up
 * to the first matching quote is one string literal (the "breakout") — fold
 * the tokens (unary operators, UNION ALL, GROUP BY, NOT LIKE, adjacent
 * strings) and then ask a small grammar whether the token sequence is an
 * attack:
 *
 *   - right after the breakout (or after a leading number): a logic operator
 *     with a tautology or a call, UNION SELECT, `;` + statement, a comment
 *     that cuts off the rest of the query, ORDER BY, WAITFOR DELAY, an
 *     operator glued to a string or a call ('||sleep(5)||', '='');
 *   - anywhere: UNION [ALL] SELECT, `;` followed by a well-formed statement,
 *     a delay/file/out-of-band function called as code, a literal tautology
 *     after AND/OR/WHERE, a system catalog name, @@system variables, a
 *     SELECT with the shape of a query.
 *
 * Prose fails the grammar early: after the apostrophe of "it's" or "O'Reilly"
 * comes a bare word, and bare words are not a way to continue a string
 * literal in SQL; "select the best plan" has two bare words where SQL wants
 * an expression list.
 *
 * Tokens live in a fixed window (no allocation); a long value is lexed in
 * overlapping windows so the work stays linear.
 */
#include "detect.h"
#include "detect_util.h"
#include "sqli_tokens.h"

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define WIN 64  /* tokens in the window */
#define LOOK 24 /* tokens a rule may look ahead; the window overlap */

/* ---- character classes ------------------------------------------------- */

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
           c == 0;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c)
{
    return waf_is_alpha(c);
}

static int is_word(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '$' || c >= 0x80;
}

static unsigned char lower(unsigned char c)
{
    return waf_lc(c); /* a table load */
}

/* ---- keywords ---------------------------------------------------------- */

enum { KF_CALL = 1, KF_DANGER = 2 }; /* may be called; calling it is an attack */

struct kw_entry {
    const char *word;
    unsigned char type, kw, flags;
};

/* Sorted by word (bsearch). Words that are plain English and only matter in
 * one position (table, user, order) keep type 'n' or 'k' and are recognised by
 * their id where a rule needs them. */
static const struct kw_entry kw_table[] = {
    {"all", T_KEYWORD, K_ALL, 0},
    {"alter", T_STMT, K_DDL, 0},
    {"and", T_LOGIC, K_NONE, 0},
    {"as", T_KEYWORD, K_AS, 0},
    {"begin", T_KEYWORD, K_NONE, 0},
    {"benchmark", T_NAME, K_NONE, KF_DANGER},
    {"between", T_CMP, K_NONE, 0},
    {"binary", T_OP, K_NOT, 0}, /* MySQL's cast prefix, folded like NOT */
    {"by", T_KEYWORD, K_BY, 0},
    {"call", T_STMT, K_CALL, 0},
    {"case", T_KEYWORD, K_CASE, 0},
    {"collate", T_OP, K_NONE, 0},
    {"create", T_STMT, K_DDL, 0},
    {"cross", T_KEYWORD, K_JOIN, 0},
    {"current_user", T_NUMBER, K_NONE, 0},
    {"database", T_NAME, K_OBJECT, 0},
    {"dbms_lock.sleep", T_NAME, K_NONE, KF_DANGER},
    {"dbms_pipe.receive_message", T_NAME, K_NONE, KF_DANGER},
    {"declare", T_STMT, K_DECLARE, 0},
    {"delay", T_KEYWORD, K_DELAY, 0},
    {"delete", T_STMT, K_DELETE, 0},
    {"distinct", T_KEYWORD, K_DISTINCT, 0},
    {"div", T_OP, K_NONE, 0},
    {"drop", T_STMT, K_DDL, 0},
    {"dumpfile", T_KEYWORD, K_OUTFILE, 0},
    {"except", T_UNION, K_NONE, 0},
    {"exec", T_STMT, K_EXEC, 0},
    {"execute", T_STMT, K_EXEC, 0},
    {"exists", T_KEYWORD, K_NONE, KF_CALL},
    {"extractvalue", T_NAME, K_NONE, KF_DANGER},
    {"false", T_NUMBER, K_NONE, 0},
    {"from", T_KEYWORD, K_FROM, 0},
    {"function", T_NAME, K_OBJECT, 0},
    {"glob", T_CMP, K_NONE, 0},
    {"group", T_KEYWORD, K_GROUP, 0},
    {"having", T_GROUP, K_HAVING, 0},
    {"if", T_KEYWORD, K_NONE, KF_CALL},
    {"ignore", T_KEYWORD, K_QUICK, 0},
    {"ilike", T_CMP, K_LIKE, 0},
    {"immediate", T_KEYWORD, K_IMMEDIATE, 0},
    {"in", T_CMP, K_NONE, 0},
    {"index", T_NAME, K_OBJECT, 0},
    {"inner", T_KEYWORD, K_JOIN, 0},
    {"insert", T_STMT, K_INSERT, KF_CALL},
    {"intersect", T_UNION, K_NONE, 0},
    {"into", T_KEYWORD, K_INTO, 0},
    {"is", T_CMP, K_IS, 0},
    {"join", T_KEYWORD, K_JOIN, 0},
    {"left", T_KEYWORD, K_JOIN, KF_CALL},
    {"like", T_CMP, K_LIKE, KF_CALL},
    {"limit", T_GROUP, K_LIMIT, 0},
    {"load_file", T_NAME, K_NONE, KF_DANGER},
    {"low_priority", T_KEYWORD, K_QUICK, 0},
    {"minus", T_UNION, K_NONE, 0},
    {"mod", T_OP, K_NONE, KF_CALL},
    {"not", T_OP, K_NOT, 0},
    {"null", T_NUMBER, K_NONE, 0},
    {"or", T_LOGIC, K_NONE, 0},
    {"order", T_KEYWORD, K_ORDER, 0},
    {"outer", T_KEYWORD, K_JOIN, 0},
    {"outfile", T_KEYWORD, K_OUTFILE, 0},
    {"pg_sleep", T_NAME, K_NONE, KF_DANGER},
    {"procedure", T_KEYWORD, K_PROCEDURE, 0},
    {"quick", T_KEYWORD, K_QUICK, 0},
    {"regexp", T_CMP, K_NONE, 0},
    {"rename", T_STMT, K_DDL, 0},
    {"replace", T_STMT, K_REPLACE, KF_CALL},
    {"right", T_KEYWORD, K_JOIN, KF_CALL},
    {"rlike", T_CMP, K_NONE, 0},
    {"schema", T_NAME, K_OBJECT, 0},
    {"select", T_STMT, K_SELECT, 0},
    {"set", T_STMT, K_SET, 0},
    {"shutdown", T_STMT, K_SHUTDOWN, 0},
    {"sleep", T_NAME, K_NONE, KF_DANGER},
    {"sounds", T_KEYWORD, K_SOUNDS, 0},
    {"sys_eval", T_NAME, K_NONE, KF_DANGER},
    {"sys_exec", T_NAME, K_NONE, KF_DANGER},
    {"table", T_NAME, K_OBJECT, 0},
    {"top", T_KEYWORD, K_TOP, 0},
    {"trigger", T_NAME, K_OBJECT, 0},
    {"true", T_NUMBER, K_NONE, 0},
    {"truncate", T_STMT, K_DDL, 0},
    {"union", T_UNION, K_NONE, 0},
    {"update", T_STMT, K_UPDATE, 0},
    {"updatexml", T_NAME, K_NONE, KF_DANGER},
    {"user", T_NAME, K_OBJECT, 0},
    {"user_lock.sleep", T_NAME, K_NONE, KF_DANGER},
    {"utl_http.request", T_NAME, K_NONE, KF_DANGER},
    {"utl_inaddr.get_host_address", T_NAME, K_NONE, KF_DANGER},
    {"values", T_KEYWORD, K_VALUES, 0},
    {"view", T_NAME, K_OBJECT, 0},
    {"waitfor", T_DELAY, K_NONE, 0},
    {"where", T_KEYWORD, K_WHERE, 0},
    {"with", T_KEYWORD, K_WITH, 0},
    {"xor", T_LOGIC, K_NONE, 0},
};

/* System catalogs: naming one is reconnaissance, not data entry. Matched as a
 * prefix of the lower-cased name (information_schema.tables, sysibm.x ...).
 * Names that could be an application's own identifiers (user_tables) start
 * with '+': they count only after FROM or JOIN. */
static const char *const catalogs[] = {
    "information_schema", "pg_catalog",   "pg_shadow",    "sqlite_master",
    "sqlite_schema",      "sysobjects",   "syscolumns",   "sysusers",
    "sysdatabases",       "sysibm.",      "syscat.",      "mysql.user",
    "msysobjects",        "master..",     "rdb$database", "rdb$relations",
    "v$version",          "sys.user$",    "+mysql.db",    "+all_tables",
    "+all_tab_columns",   "+all_users",   "+dba_users",   "+user_tables",
    "+sys.all_tables",    "+sys.objects", "+sys.tables",  "+pg_database",
};

/* strcmp of a table word with the n bytes of w. */
static int kw_cmp(const char *word, const char *w, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (word[k] == 0) return -1;
        if (word[k] != w[k]) return (unsigned char)word[k] < (unsigned char)w[k] ? -1 : 1;
    }
    return word[n] != 0;
}

/* Most words looked up (prose, names) are no keyword: a (first two bytes,
 * length) filter turns them away before the binary search. */
static struct waf_lenfilter kw_filter;

__attribute__((constructor)) static void kw_filter_init(void)
{
    waf_lenfilter_init(&kw_filter, kw_table, sizeof kw_table / sizeof kw_table[0],
                       sizeof kw_table[0]);
}

static const struct kw_entry *kw_lookup(const char *w, size_t n)
{
    size_t lo = 0, hi = sizeof kw_table / sizeof kw_table[0];
    if (n < 2 || n > 27 || !waf_lenfilter_maybe(&kw_filter, w, n)) return NULL;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = kw_cmp(kw_table[mid].word, w, n);
        if (c == 0) return &kw_table[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* 0: not a catalog; 1: a catalog wherever it is; 2: one after FROM/JOIN. */
static int is_catalog(const char *w, size_t n)
{
    if (n < 7 || !strchr("ipsmaduvr", w[0])) return 0;
    for (size_t i = 0; i < sizeof catalogs / sizeof catalogs[0]; i++) {
        const char *c = catalogs[i];
        int weak = c[0] == '+';
        c += weak;
        if (c[0] != w[0]) continue;
        size_t m = strlen(c);
        if (n >= m && memcmp(w, c, m) == 0) return 1 + weak;
    }
    return 0;
}

/* ---- lexer ------------------------------------------------------------- */

struct lexer {
    const unsigned char *s;
    size_t n, i;
    unsigned char quote;   /* 0, '\'' or '"': the context */
    unsigned char start;   /* no token produced yet */
    unsigned char in_xc;   /* inside a MySQL / *! executable comment */
    unsigned char prev;    /* type of the previous token */
    unsigned char prev_kw; /* its keyword id */
};

/* End of a quoted run starting after the opening quote at i; SQL doubles a
 * quote to escape it, MySQL also uses a backslash. Returns the index of the
 * closing quote or n. */
static size_t quoted_end(const unsigned char *s, size_t n, size_t i, unsigned char q,
                         int backslash)
{
    while (i < n) {
        if (backslash && s[i] == '\\' && i + 1 < n) {
            i += 2;
            continue;
        }
        if (s[i] == q) {
            if (i + 1 < n && s[i + 1] == q) {
                i += 2;
                continue;
            }
            return i;
        }
        i++;
    }
    return n;
}

static void tok_set(struct sqli_token *t, unsigned char type, size_t pos, size_t len)
{
    t->type = type;
    t->flags = 0;
    t->kw = K_NONE;
    t->pos = (unsigned)pos;
    t->len = (unsigned)len;
}

static size_t lex_string(struct lexer *lx, struct sqli_token *t, size_t start,
                         size_t open)
{
    const unsigned char *s = lx->s;
    size_t e = quoted_end(s, lx->n, open + 1, s[open], 1);
    tok_set(t, T_STRING, start, (e < lx->n ? e + 1 : e) - start);
    if (e >= lx->n) t->flags |= TF_UNTERM;
    return e < lx->n ? e + 1 : e;
}

/* A bare word: keyword, function, name, or a prefixed string (X'41'). */
static size_t lex_word(struct lexer *lx, struct sqli_token *t, size_t i)
{
    const unsigned char *s = lx->s;
    size_t n = lx->n, j = i;
    /* "1or1=1": a word glued to a number stops at its first digit, as MySQL
     * reads it; "10px" stays number + word either way. */
    int after_num = lx->prev == T_NUMBER && i > 0 && is_digit(s[i - 1]);
    while (j < n) {
        if (is_word(s[j]) && !(after_num && is_digit(s[j])))
            j++;
        else if (s[j] == '.' && j + 1 < n &&
                 (is_alpha(s[j + 1]) || s[j + 1] == '_' || s[j + 1] == '.'))
            j++; /* qualified name: schema.table, master..sysdatabases */
        else
            break;
    }
    if (j - i == 1 && j < n && s[j] == '\'' && strchr("xXbBnNeE", s[i]))
        return lex_string(lx, t, i, j);

    char w[40];
    size_t wl = j - i;
    tok_set(t, T_NAME, i, wl);
    if (wl < sizeof w) {
        for (size_t k = 0; k < wl; k++)
            w[k] = (char)lower(s[i + k]);
        const struct kw_entry *e = kw_lookup(w, wl);
        if (e) {
            t->type = e->type;
            t->kw = e->kw;
        }
        int cat = is_catalog(w, wl);
        if (cat == 1 || (cat == 2 && (lx->prev_kw == K_FROM || lx->prev_kw == K_JOIN)))
            t->flags |= TF_CATALOG;
        size_t k = j;
        while (k < n && is_space(s[k]))
            k++;
        if (k < n && s[k] == '(') {
            if (e && (e->flags & KF_DANGER)) t->flags |= TF_DANGER;
            if (!e || t->type == T_NAME || t->type == T_NUMBER || (e->flags & KF_CALL))
                t->type = T_FUNC;
        }
    }
    return j;
}

static size_t lex_number(struct lexer *lx, struct sqli_token *t, size_t i)
{
    const unsigned char *s = lx->s;
    size_t n = lx->n, j = i;
    if (s[j] == '0' && j + 1 < n &&
        (s[j + 1] == 'x' || s[j + 1] == 'X' || s[j + 1] == 'b' || s[j + 1] == 'B')) {
        j += 2;
        while (j < n && (is_digit(s[j]) || (lower(s[j]) >= 'a' && lower(s[j]) <= 'f')))
            j++;
    } else {
        while (j < n && is_digit(s[j]))
            j++;
        if (j < n && s[j] == '.') {
            j++;
            while (j < n && is_digit(s[j]))
                j++;
        }
        if (j + 1 < n && (s[j] == 'e' || s[j] == 'E') &&
            (is_digit(s[j + 1]) ||
             ((s[j + 1] == '-' || s[j + 1] == '+') && j + 2 < n && is_digit(s[j + 2])))) {
            j += 2;
            while (j < n && is_digit(s[j]))
                j++;
        }
    }
    tok_set(t, T_NUMBER, i, j - i);
    return j;
}

/* Comment to end of line (-- and #). */
static size_t lex_line_comment(struct lexer *lx, struct sqli_token *t, size_t i)
{
    size_t j = i;
    while (j < lx->n && lx->s[j] != '\n')
        j++;
    tok_set(t, T_COMMENT, i, j - i);
    if (j >= lx->n) t->flags |= TF_UNTERM;
    return j;
}

/* Operators made of punctuation; returns the end. */
static size_t lex_op(struct lexer *lx, struct sqli_token *t, size_t i)
{
    const unsigned char *s = lx->s;
    size_t n = lx->n;
    unsigned char c = s[i], d = i + 1 < n ? s[i + 1] : 0;
    unsigned char e = i + 2 < n ? s[i + 2] : 0;
    if (c == '<' && d == '=' && e == '>') {
        tok_set(t, T_CMP, i, 3);
        return i + 3;
    }
    if ((c == '<' && (d == '=' || d == '>')) || (c == '>' && d == '=') ||
        (c == '!' && d == '=') || (c == '=' && d == '=')) {
        tok_set(t, T_CMP, i, 2);
        return i + 2;
    }
    if ((c == '|' && d == '|') || (c == '&' && d == '&')) {
        tok_set(t, T_LOGIC, i, 2);
        return i + 2;
    }
    if ((c == '<' && d == '<') || (c == '>' && d == '>') || (c == ':' && d == ':') ||
        (c == ':' && d == '=')) {
        tok_set(t, T_OP, i, 2);
        return i + 2;
    }
    if (c == '=' || c == '<' || c == '>') {
        tok_set(t, T_CMP, i, 1);
        return i + 1;
    }
    tok_set(t, T_OP, i, 1);
    if (c == '*') t->flags |= TF_STAR;
    return i + 1;
}

/* Next raw token; 0 at the end of the value. */
static int lex_next(struct lexer *lx, struct sqli_token *t)
{
    const unsigned char *s = lx->s;
    size_t n = lx->n, i = lx->i;
    int blank = 0;

    if (lx->start && lx->quote) {
        /* The value begins inside the application's string literal. */
        size_t e = quoted_end(s, n, 0, lx->quote, 0);
        lx->start = 0;
        tok_set(t, T_STRING, 0, e);
        t->flags |= TF_BREAK;
        if (e >= n) t->flags |= TF_UNTERM;
        lx->i = e < n ? e + 1 : n;
        return 1;
    }
    lx->start = 0;
    for (;;) {
        while (i < n && is_space(s[i])) {
            i++;
            blank = 1;
        }
        if (i >= n) {
            lx->i = n;
            return 0;
        }
        unsigned char c = s[i], d = i + 1 < n ? s[i + 1] : 0;
        if (c == '/' && d == '*' && i + 2 < n && s[i + 2] == '!') {
            /* MySQL runs the inside of / *!50000 ... * / as SQL. */
            i += 3;
            for (int k = 0; k < 6 && i < n && is_digit(s[i]); k++)
                i++;
            lx->in_xc = 1;
            blank = 1;
            continue;
        }
        if (c == '*' && d == '/' && lx->in_xc) {
            lx->in_xc = 0;
            i += 2;
            blank = 1;
            continue;
        }
        size_t j;
        if (c == '\'' || c == '"') {
            j = lex_string(lx, t, i, i);
        } else if (c == '`') {
            size_t e = quoted_end(s, n, i + 1, '`', 0);
            j = e < n ? e + 1 : n;
            tok_set(t, T_NAME, i, j - i);
        } else if (is_digit(c) || (c == '.' && is_digit(d))) {
            j = lex_number(lx, t, i);
        } else if (is_word(c)) {
            j = lex_word(lx, t, i);
        } else if (c == '@') {
            size_t k = i + 1;
            int sys = k < n && s[k] == '@';
            if (sys) k++;
            if (k < n && (s[k] == '\'' || s[k] == '"' || s[k] == '`')) {
                size_t e = quoted_end(s, n, k + 1, s[k], 1);
                k = e < n ? e + 1 : n;
            } else {
                while (k < n && (is_word(s[k]) || s[k] == '.'))
                    k++;
            }
            j = k;
            tok_set(t, T_VAR, i, j - i);
            if (sys && j > i + 2 && is_alpha(s[i + 2])) t->flags |= TF_SYSVAR;
        } else if (c == '-' && d == '-') {
            j = lex_line_comment(lx, t, i);
        } else if (c == '#') {
            j = lex_line_comment(lx, t, i);
        } else if (c == '/' && d == '*') {
            size_t k = i + 2;
            while (k + 1 < n && !(s[k] == '*' && s[k + 1] == '/'))
                k++;
            j = k + 1 < n ? k + 2 : n;
            tok_set(t, T_COMMENT, i, j - i);
            if (k + 1 >= n) t->flags |= TF_UNTERM;
        } else if (c == '(' || c == ')' || c == ',' || c == ';') {
            j = i + 1;
            tok_set(t, c, i, 1);
        } else if (strchr("=<>!|&^~+-*/%:", c)) {
            j = lex_op(lx, t, i);
        } else {
            j = i + 1;
            tok_set(t, T_OTHER, i, 1);
        }
        if (blank) t->flags |= TF_BLANK;
        lx->i = j;
        lx->prev = t->type;
        if (t->type != T_COMMENT) lx->prev_kw = t->kw;
        return 1;
    }
}

/* ---- folding into the token window ------------------------------------- */

struct seq {
    struct sqli_token t[WIN];
    int n;
    int eof;             /* the value has no tokens beyond t[n-1] */
    int first_win;       /* t[0] is the first token of the value */
    unsigned char quote; /* the context */
    const unsigned char *s;
};

static int last_real(const struct seq *q)
{
    int i = q->n - 1;
    while (i >= 0 && q->t[i].type == T_COMMENT)
        i--;
    return i;
}

static int is_unary(const struct sqli_token *t, const unsigned char *s)
{
    if (t->kw == K_NOT) return 1;
    if (t->type != T_OP || t->len != 1) return 0;
    unsigned char c = s[t->pos];
    return c == '-' || c == '+' || c == '!' || c == '~';
}

/* Appends t to the window, merging it with what came before. */
static void seq_push(struct seq *q, const struct sqli_token *t)
{
    int p = last_real(q);
    struct sqli_token *pt = p >= 0 ? &q->t[p] : NULL;
    unsigned char pty = pt ? pt->type : 0;

    if (t->type == T_COMMENT && q->n > 0 && q->t[q->n - 1].type == T_COMMENT) {
        q->t[q->n - 1].flags |= t->flags & TF_UNTERM;
        return;
    }
    if (pt) {
        if (pty == T_UNION && (t->kw == K_ALL || t->kw == K_DISTINCT)) return;
        if ((pt->kw == K_GROUP || pt->kw == K_ORDER) && t->kw == K_BY) {
            pt->type = T_GROUP;
            return;
        }
        if ((pt->kw == K_NOT || pt->kw == K_SOUNDS) && t->type == T_CMP) {
            pt->type = T_CMP;
            pt->kw = t->kw;
            return;
        }
        if (pt->kw == K_IS && t->kw == K_NOT) return;
        if (pty == T_DELAY && (t->kw == K_DELAY || (t->type == T_NAME && t->len == 4 &&
                                                    lower(q->s[t->pos]) == 't')))
            return;
        if (pty == T_STRING && t->type == T_STRING && !(pt->flags & TF_BREAK)) {
            pt->flags |= t->flags & TF_UNTERM;
            return;
        }
    }
    if (is_unary(t, q->s) && (!pt || strchr("o=&(,kEUBT;", pty) != NULL ||
                              (pty == T_STRING && t->kw == K_NOT)))
        return;
    if (q->n < WIN) q->t[q->n++] = *t;
}

/* ---- grammar helpers ---------------------------------------------------- */

/* Index of the next non-comment token at or after i (q->n when none). */
static int nx(const struct seq *q, int i)
{
    while (i < q->n && q->t[i].type == T_COMMENT)
        i++;
    return i;
}

static int type_at(const struct seq *q, int i)
{
    return i < q->n ? q->t[i].type : 0;
}

/* Nothing but comments from i to the end of the value. */
static int at_end(const struct seq *q, int i)
{
    return q->eof && nx(q, i) >= q->n;
}

/* A comment follows directly at i (before any other token). */
static int comment_at(const struct seq *q, int i)
{
    return i < q->n && q->t[i].type == T_COMMENT;
}

/* The query ends here as far as the attacker is concerned: end of value,
 * a comment that hides the rest, or the start of a new statement. */
static int terminated(const struct seq *q, int i)
{
    return at_end(q, i) || comment_at(q, i) || type_at(q, nx(q, i)) == T_SEMI;
}

enum {
    W_LIT = 1,   /* number or string literal */
    W_STR = 2,   /* string literal */
    W_NAME = 4,  /* bare name (column) */
    W_VAR = 8,   /* variable */
    W_CALL = 16, /* function call */
    W_DANGER = 32,
    W_SUB = 64,    /* parenthesised sub-select */
    W_PAREN = 128, /* parenthesised expression */
    W_PCMP = 256   /* a comparison inside the parentheses */
};

/* Matching ')' for the '(' at i; q->n when it is not closed in the window.
 * Reports whether a SELECT, a comparison or a dangerous call is inside. */
static int close_paren(const struct seq *q, int i, unsigned *inside)
{
    int depth = 0;
    for (int k = i; k < q->n; k++) {
        unsigned char ty = q->t[k].type;
        if (ty == T_LPAREN)
            depth++;
        else if (ty == T_RPAREN && --depth == 0)
            return k;
        else if (ty == T_STMT && q->t[k].kw == K_SELECT)
            *inside |= W_SUB;
        else if (ty == T_FUNC && (q->t[k].flags & TF_DANGER))
            *inside |= W_DANGER;
        else if (ty == T_CMP)
            *inside |= W_PCMP;
    }
    return q->n;
}

/* One operand at i: literal, name, variable, call or parenthesised group.
 * Returns the index after it, or -1. */
static int operand(const struct seq *q, int i, unsigned *w)
{
    i = nx(q, i);
    if (i >= q->n) return -1;
    const struct sqli_token *t = &q->t[i];
    switch (t->type) {
    case T_NUMBER:
        *w |= W_LIT;
        return i + 1;
    case T_STRING:
        *w |= W_LIT | W_STR;
        return i + 1;
    case T_NAME:
        *w |= W_NAME;
        return i + 1;
    case T_VAR:
        *w |= W_VAR;
        return i + 1;
    case T_FUNC: {
        int p = nx(q, i + 1);
        if (type_at(q, p) != T_LPAREN) return -1;
        *w |= W_CALL | ((t->flags & TF_DANGER) ? W_DANGER : 0);
        int e = close_paren(q, p, w);
        return e < q->n ? e + 1 : q->n;
    }
    case T_LPAREN: {
        *w |= W_PAREN;
        int e = close_paren(q, i, w);
        return e < q->n ? e + 1 : q->n;
    }
    default:
        return -1;
    }
}

/* An arithmetic expression: operand (op operand)*. */
static int expr(const struct seq *q, int i, unsigned *w)
{
    int e = operand(q, i, w);
    for (int guard = 0; e >= 0 && guard < LOOK; guard++) {
        int o = nx(q, e);
        if (type_at(q, o) != T_OP) break;
        int e2 = operand(q, o + 1, w);
        if (e2 < 0) break;
        e = e2;
    }
    return e;
}

/* A full expression: arithmetic, comparisons and boolean operators. */
static int full_expr(const struct seq *q, int i, unsigned *w)
{
    int e = expr(q, i, w);
    for (int guard = 0; e >= 0 && guard < LOOK; guard++) {
        int o = nx(q, e);
        unsigned char ty = type_at(q, o);
        if (ty != T_CMP && ty != T_LOGIC) break;
        int e2 = expr(q, o + 1, w);
        if (e2 < 0) break;
        e = e2;
    }
    return e;
}

/* Is the comparison at c meaningful with what follows? Word comparisons are
 * also English ("is", "in", "like"): IS wants NULL/TRUE, IN wants a list,
 * LIKE/REGEXP a literal. */
static int cmp_ok(const struct seq *q, int c, int rhs)
{
    const struct sqli_token *t = &q->t[c];
    unsigned char r = type_at(q, rhs);
    if (!is_alpha(q->s[t->pos])) return 1;
    if (t->kw == K_IS) return r == T_NUMBER;
    if (r == T_LPAREN || r == T_STRING || r == T_NUMBER || r == T_FUNC || r == T_VAR)
        return 1;
    return 0;
}

/* A condition: expr [cmp expr]. *cmp is set when a comparison was parsed. */
static int cond(const struct seq *q, int i, unsigned *w, int *cmp, unsigned *rw)
{
    int e = expr(q, i, w);
    *cmp = (*w & W_PCMP) != 0; /* ('a'='a' */
    if (e < 0) return e;
    int c = nx(q, e);
    if (type_at(q, c) == T_CMP) {
        int r = nx(q, c + 1);
        int e2 = expr(q, r, rw);
        if (e2 >= 0 && cmp_ok(q, c, r)) {
            *cmp = 1;
            return e2;
        }
    }
    return e;
}

/* A string at i can stand in valid SQL: closed, or left open with the
 * quote of the context (the application's own closing quote ends it). A
 * string left open with the other quote would swallow that closing quote. */
static int str_ok(const struct seq *q, int i)
{
    const struct sqli_token *t = &q->t[i];
    if (t->type != T_STRING || !(t->flags & TF_UNTERM)) return 1;
    return q->quote && q->s[t->pos] == q->quote;
}

/* A literal an attacker uses as "true": a number, or a string of at most
 * three characters ('1', 'x', ''); "the 'or' operator" quotes a longer word. */
static int short_literal(const struct seq *q, int i)
{
    if (i >= q->n) return 0;
    const struct sqli_token *t = &q->t[i];
    if (t->type != T_STRING) return 1;
    return t->len <= 5;
}

/* ---- rules -------------------------------------------------------------- */

struct rule {
    unsigned id;
    const char *reason;
};

static const struct rule R_TAUTOLOGY = {942100, "SQL tautology or boolean condition"};
static const struct rule R_LOGIC_CALL = {942101,
                                         "SQL boolean operator with function/subquery"};
static const struct rule R_UNION = {942110, "SQL UNION SELECT"};
static const struct rule R_STACKED = {942120, "SQL stacked query"};
static const struct rule R_COMMENT = {942130, "SQL comment truncates the query"};
static const struct rule R_ORDER = {942140, "SQL ORDER/GROUP BY probe"};
static const struct rule R_FUNC = {942150, "SQL time-delay/file/out-of-band function"};
static const struct rule R_DELAY = {942160, "SQL WAITFOR DELAY / EXEC procedure"};
static const struct rule R_CATALOG = {942170, "SQL system catalog access"};
static const struct rule R_SELECT = {942180, "SQL SELECT query"};
static const struct rule R_STROP = {942190, "SQL operator after string breakout"};
static const struct rule R_SYSVAR = {942200, "SQL system variable"};
static const struct rule R_CLAUSE = {942210, "SQL clause after breakout"};

static int is_kw(const struct seq *q, int i, int kw)
{
    return i < q->n && q->t[i].kw == kw;
}

/* A SELECT list item is "strong" (not a plain word): *, number, string,
 * variable, call, parenthesised expression. Returns the index after the
 * list; *strong and *items report what was seen. */
static int select_list(const struct seq *q, int i, int *strong, int *items)
{
    *strong = 0;
    *items = 0;
    for (int guard = 0; guard < LOOK; guard++) {
        i = nx(q, i);
        if (i < q->n && (q->t[i].flags & TF_STAR)) {
            *strong = 1;
            i++;
        } else {
            unsigned w = 0;
            int e = full_expr(q, i, &w);
            if (e < 0) return i;
            if (w & ~(unsigned)W_NAME) *strong = 1;
            i = e;
            int a = nx(q, i);
            if (is_kw(q, a, K_AS)) /* alias */
                i = nx(q, a + 1) + 1;
        }
        (*items)++;
        int c = nx(q, i);
        if (type_at(q, c) != T_COMMA) return c;
        i = c + 1;
    }
    return i;
}

/* The SELECT at i is shaped like a query, not like "select the best plan". */
static int select_ok(const struct seq *q, int i)
{
    int j = nx(q, i + 1);
    while (is_kw(q, j, K_DISTINCT) || is_kw(q, j, K_ALL))
        j = nx(q, j + 1);
    if (is_kw(q, j, K_TOP)) j = nx(q, j + 2);
    unsigned char ty = type_at(q, j);
    if (ty == T_FUNC || ty == T_VAR || ty == T_LPAREN || is_kw(q, j, K_CASE)) return 1;
    int strong, items;
    int e = select_list(q, j, &strong, &items);
    if (items == 0) return 0;
    e = nx(q, e);
    if (!is_kw(q, e, K_FROM))
        return strong && (terminated(q, e) || type_at(q, e) == T_RPAREN ||
                          type_at(q, e) == T_UNION)
                   ? 1
                   : type_at(q, e) == T_GROUP;
    /* FROM source: a name (or sub-select), then the query goes on as SQL. */
    int src = nx(q, e + 1);
    unsigned char st = type_at(q, src);
    if (st == T_LPAREN) return 1;
    if (st != T_NAME && st != T_FUNC) return 0;
    if (q->t[src].flags & TF_CATALOG) return 1;
    int after = nx(q, src + 1);
    unsigned char at = type_at(q, after);
    if (strong && (terminated(q, after) || at == T_RPAREN)) return 1;
    return (after < q->n && comment_at(q, src + 1)) || at == T_SEMI || at == T_RPAREN ||
           at == T_UNION || at == T_GROUP || at == T_COMMA || is_kw(q, after, K_WHERE) ||
           is_kw(q, after, K_JOIN) || is_kw(q, after, K_AS);
}

/* The statement keyword at i starts a plausible statement. */
static int stmt_ok(const struct seq *q, int i)
{
    const struct sqli_token *t = &q->t[i];
    int j = nx(q, i + 1), k = nx(q, j + 1);
    unsigned char jt = type_at(q, j);
    if (t->type == T_DELAY) return jt == T_STRING;
    switch (t->kw) {
    case K_SELECT:
        return select_ok(q, i);
    case K_INSERT:
    case K_REPLACE:
        if (is_kw(q, j, K_INTO)) j = k, k = nx(q, j + 1);
        return (type_at(q, j) == T_NAME || type_at(q, j) == T_FUNC) &&
               (type_at(q, k) == T_LPAREN || is_kw(q, k, K_VALUES) ||
                is_kw(q, k, K_SELECT) || is_kw(q, k, K_SET));
    case K_UPDATE:
        return jt == T_NAME && is_kw(q, k, K_SET);
    case K_DELETE:
        return is_kw(q, j, K_QUICK) || (is_kw(q, j, K_FROM) && type_at(q, k) == T_NAME);
    case K_DDL:
        return (is_kw(q, j, K_OBJECT) || is_kw(q, j, K_PROCEDURE)) &&
               (type_at(q, k) == T_NAME || type_at(q, k) == T_FUNC);
    case K_EXEC:
        return jt == T_NAME || jt == T_FUNC || jt == T_STRING || jt == T_LPAREN ||
               jt == T_VAR || is_kw(q, j, K_IMMEDIATE);
    case K_DECLARE:
    case K_SET:
        return jt == T_VAR;
    case K_SHUTDOWN:
        return terminated(q, j) || is_kw(q, j, K_WITH);
    case K_CALL:
        return jt == T_FUNC;
    default:
        return 0;
    }
}

/* "SOAP 1 '#": a quote after a space opens a quotation in prose, and '#'
 * starts hashtags; only a quote glued to a word closes a string (admin'#). */
static int prose_quote(const struct seq *q, int comment)
{
    const struct sqli_token *b = &q->t[0], *c = &q->t[comment];
    if (!(b->flags & TF_BREAK) || q->s[c->pos] != '#' || b->len == 0) return 0;
    unsigned char last = q->s[b->pos + b->len - 1];
    return last == ' ' || last == '\t';
}

/* What may follow a string breakout (quote contexts) or a leading number
 * (numeric context) at i. depth bounds the one recursive case. */
static const struct rule *tail(const struct seq *q, int i, int breakout, int depth)
{
    int parens = 0;
    i = nx(q, i);
    while (type_at(q, i) == T_RPAREN) {
        parens++;
        i = nx(q, i + 1);
    }
    /* Comments are skipped by nx(); look for one right after the breakout. */
    int j0 = i;
    while (j0 > 0 && q->t[j0 - 1].type == T_COMMENT)
        j0--;
    if (j0 < i && (breakout || parens) && !prose_quote(q, j0))
        return &R_COMMENT; /* admin'--  1)# */
    if (i >= q->n) return NULL;
    const struct sqli_token *t = &q->t[i];
    int strong = breakout || parens;

    switch (t->type) {
    case T_LOGIC: {
        unsigned w = 0, rw = 0;
        int cmp;
        int e = cond(q, i + 1, &w, &cmp, &rw);
        if (e < 0) return NULL;
        if (cmp && (strong || ((w | rw) & ~(unsigned)W_NAME))) return &R_TAUTOLOGY;
        if ((w | rw) & (W_CALL | W_SUB | W_VAR | W_DANGER)) return &R_LOGIC_CALL;
        if ((w & W_LIT) && (terminated(q, e) || type_at(q, nx(q, e)) == T_LOGIC) &&
            (strong || comment_at(q, e)) && short_literal(q, nx(q, i + 1)))
            return &R_TAUTOLOGY; /* ' or 1--   ' or 'x */
        if ((w & W_NAME) && comment_at(q, e) && strong) return &R_TAUTOLOGY;
        return NULL;
    }
    case T_UNION: {
        int j = nx(q, i + 1);
        while (type_at(q, j) == T_LPAREN)
            j = nx(q, j + 1);
        return is_kw(q, j, K_SELECT) ? &R_UNION : NULL;
    }
    case T_SEMI: {
        int j = i + 1;
        if (comment_at(q, j) && strong) return &R_STACKED; /* ';# */
        j = nx(q, j);
        if (j < q->n && (q->t[j].type == T_STMT || q->t[j].type == T_DELAY) &&
            stmt_ok(q, j))
            return &R_STACKED;
        return NULL;
    }
    case T_GROUP: {
        unsigned w = 0;
        int e = expr(q, i + 1, &w);
        if (e < 0) return NULL;
        if (strong || terminated(q, e) || type_at(q, nx(q, e)) == T_COMMA ||
            type_at(q, nx(q, e)) == T_UNION)
            return &R_ORDER;
        return NULL;
    }
    case T_DELAY:
        return stmt_ok(q, i) ? &R_DELAY : NULL;
    case T_STMT:
        return strong && stmt_ok(q, i) ? &R_STACKED : NULL;
    case T_KEYWORD: {
        int j = nx(q, i + 1);
        if (t->kw == K_WHERE) {
            unsigned w = 0, rw = 0;
            int cmp;
            if (cond(q, j, &w, &cmp, &rw) >= 0 && cmp && (strong || (w & W_LIT)))
                return &R_CLAUSE;
        }
        if (t->kw == K_INTO && is_kw(q, j, K_OUTFILE)) return &R_CLAUSE;
        if (t->kw == K_PROCEDURE && type_at(q, j) == T_FUNC) return &R_CLAUSE;
        if (t->kw == K_AS && type_at(q, j) == T_NAME && strong &&
            (is_kw(q, nx(q, j + 1), K_WHERE) || is_kw(q, nx(q, j + 1), K_FROM)))
            return &R_CLAUSE;
        return NULL;
    }
    case T_OP:
    case T_CMP: {
        /* Word operators (LIKE, MOD, DIV) are English too: symbols only. */
        if (!breakout || is_alpha(q->s[t->pos])) return NULL;
        unsigned w = 0;
        int e = expr(q, i + 1, &w);
        if (e < 0) return NULL;
        if (w & (W_CALL | W_SUB | W_VAR)) return &R_STROP;
        if ((w & W_STR) && !(w & W_NAME) && str_ok(q, nx(q, i + 1)) &&
            (terminated(q, e) || type_at(q, nx(q, e)) == T_LOGIC))
            return &R_STROP; /* '='   '-'   '||' */
        return NULL;
    }
    case T_COMMA: {
        /* ',NULL,NULL) waitfor delay ... : finish a value list, go on. */
        if (!breakout || depth > 0) return NULL;
        int j = i;
        for (int guard = 0; guard < LOOK && type_at(q, j) == T_COMMA; guard++) {
            unsigned w = 0;
            int e = expr(q, j + 1, &w);
            if (e < 0) return NULL;
            j = nx(q, e);
        }
        if (type_at(q, j) == T_RPAREN) return tail(q, j, 1, depth + 1);
        return NULL;
    }
    default:
        return NULL;
    }
}

/* Previous non-comment token type before i (0 at the start of the value). */
static unsigned char prev_type(const struct seq *q, int i)
{
    for (int k = i - 1; k >= 0; k--)
        if (q->t[k].type != T_COMMENT) return q->t[k].type;
    return 0;
}

/* Rules that hold wherever the tokens appear. */
static const struct rule *anywhere(const struct seq *q, int i)
{
    const struct sqli_token *t = &q->t[i];
    switch (t->type) {
    case T_UNION: {
        int j = nx(q, i + 1);
        while (type_at(q, j) == T_LPAREN)
            j = nx(q, j + 1);
        return is_kw(q, j, K_SELECT) ? &R_UNION : NULL;
    }
    case T_SEMI: {
        int j = nx(q, i + 1);
        if (j < q->n && (q->t[j].type == T_STMT || q->t[j].type == T_DELAY) &&
            stmt_ok(q, j))
            return &R_STACKED;
        return NULL;
    }
    case T_FUNC: {
        if (!(t->flags & TF_DANGER)) return NULL;
        unsigned char p = prev_type(q, i);
        if (p == T_NAME || p == T_NUMBER || p == T_STRING || p == T_OTHER)
            return NULL; /* "need sleep(8h)" is prose */
        int l = nx(q, i + 1);
        int a = nx(q, l + 1);
        unsigned char at = type_at(q, a);
        if (at == T_NUMBER || at == T_LPAREN || at == T_FUNC || at == T_STRING ||
            at == T_VAR || at == T_NAME)
            return &R_FUNC;
        return NULL;
    }
    case T_LOGIC:
    case T_KEYWORD: {
        if (t->type == T_KEYWORD && t->kw != K_WHERE) return NULL;
        unsigned w = 0, rw = 0;
        int cmp;
        int e = cond(q, i + 1, &w, &cmp, &rw);
        if (e >= 0 && cmp && (w & W_LIT) && (rw & W_LIT) && !((w | rw) & W_NAME))
            return &R_TAUTOLOGY; /* or 1=1, and 'a'='a', where 2>1 */
        return NULL;
    }
    case T_DELAY:
        return stmt_ok(q, i) ? &R_DELAY : NULL;
    case T_STMT: {
        if (comment_at(q, i + 1) && !(q->t[i + 1].flags & TF_BLANK) &&
            type_at(q, i + 2) == T_NAME && !(q->t[i + 2].flags & TF_BLANK))
            return &R_COMMENT; /* DROP/ **  /users: comment as whitespace */
        if (t->kw == K_EXEC) {
            int j = nx(q, i + 1);
            if (is_kw(q, j, K_IMMEDIATE)) return &R_DELAY;
            if (j < q->n && q->t[j].len > 3 && q->t[j].type == T_NAME) {
                const unsigned char *w = q->s + q->t[j].pos;
                if ((lower(w[0]) == 'x' || lower(w[0]) == 's') && lower(w[1]) == 'p' &&
                    w[2] == '_')
                    return &R_DELAY;
            }
            return NULL;
        }
        if (t->kw != K_SELECT) return NULL;
        unsigned char p = prev_type(q, i);
        if ((p == 0 && q->first_win) || p == T_LPAREN || p == T_UNION)
            return select_ok(q, i) ? &R_SELECT : NULL;
        return NULL;
    }
    case T_NAME:
        return (t->flags & TF_CATALOG) ? &R_CATALOG : NULL;
    case T_VAR:
        return (t->flags & TF_SYSVAR) && prev_type(q, i) != T_NAME ? &R_SYSVAR : NULL;
    default:
        return NULL;
    }
}

static int is_operandish(unsigned char ty)
{
    return ty == T_NUMBER || ty == T_STRING || ty == T_NAME || ty == T_VAR ||
           ty == T_RPAREN;
}

/* The whole value is a SQL expression cut off by a trailing comment:
 * " ( COS ( 1 OR 1) ) --". SQL never puts two operands side by side, prose
 * nearly always does ("see above --"), so that is the shape test. */
static int commented_expr(const struct seq *q)
{
    if (!q->eof || q->n < 4 || q->t[q->n - 1].type != T_COMMENT ||
        q->s[q->t[q->n - 1].pos] == '#') /* '#' ends many URLs */
        return 0;
    int signal = 0;
    unsigned char prev = 0;
    for (int i = 0; i < q->n - 1; i++) {
        unsigned char ty = q->t[i].type;
        if (ty == T_COMMENT || ty == T_OTHER) return 0;
        if (is_operandish(prev) && (is_operandish(ty) && ty != T_RPAREN)) return 0;
        if (is_operandish(prev) && (ty == T_FUNC || ty == T_LPAREN)) return 0;
        if (ty == T_LOGIC || ty == T_FUNC || ty == T_UNION ||
            (ty == T_STMT && stmt_ok(q, i)))
            signal = 1;
        prev = ty;
    }
    return signal;
}

/* The rules that look at how the value starts. */
static const struct rule *start_rules(const struct seq *q, unsigned char quote)
{
    if (quote) return tail(q, 1, 1, 0);
    if (commented_expr(q)) return &R_COMMENT;
    int i = nx(q, 0);
    unsigned char ty = type_at(q, i);
    if (ty == T_NUMBER || ty == T_VAR)
        return tail(q, i + 1, 0, 0);             /* 1 or 1=1   -1 union select */
    if (ty == T_RPAREN) return tail(q, i, 0, 0); /* ) as x from   )) or (1=1 */
    if (ty == T_LOGIC) {
        /* The value starts with AND/OR: " or 1=1", "and sleep(5)", "||6". */
        unsigned w = 0, rw = 0;
        int cmp;
        int e = cond(q, i + 1, &w, &cmp, &rw);
        if (e < 0) return NULL;
        if (cmp && ((w | rw) & ~(unsigned)W_NAME || terminated(q, e)))
            return &R_TAUTOLOGY;
        if ((w | rw) & (W_CALL | W_SUB | W_VAR)) return &R_LOGIC_CALL;
        if ((w & W_LIT) && !(w & W_NAME) &&
            (comment_at(q, e) || (!is_alpha(q->s[q->t[i].pos]) && at_end(q, e))))
            return &R_TAUTOLOGY; /* or 1#   ||6 */
        return NULL;
    }
    if (ty == T_GROUP) {
        /* " ORDER BY 3--", " HAVING count(x) > 5": a clause with no query. */
        unsigned w = 0, rw = 0;
        int cmp;
        int e = cond(q, i + 1, &w, &cmp, &rw);
        if (e < 0) return NULL;
        int a = nx(q, e);
        if (comment_at(q, e) || type_at(q, a) == T_COMMA || type_at(q, a) == T_UNION ||
            type_at(q, a) == T_SEMI || (cmp && (w & (W_CALL | W_NAME)) && (rw & W_LIT)))
            return &R_ORDER;
        return NULL;
    }
    if (is_kw(q, i, K_FROM)) {
        /* "FROM users WHERE id = 5 LIMIT": the tail of a query. */
        int j = nx(q, i + 1), k = nx(q, j + 1);
        unsigned w = 0, rw = 0;
        int cmp;
        if (type_at(q, j) == T_NAME && is_kw(q, k, K_WHERE) &&
            cond(q, k + 1, &w, &cmp, &rw) >= 0 && cmp)
            return &R_CLAUSE;
    }
    return NULL;
}

struct verdict {
    const struct rule *rule;
    size_t at, len;
    char fp[8];
};

static void make_fp(const struct seq *q, char fp[8])
{
    int k = 0;
    for (int i = 0; i < q->n && k < 5; i++) {
        unsigned char ty = q->t[i].type;
        fp[k++] = (char)(ty == T_CMP ? 'o' : ty);
    }
    fp[k] = 0;
}

/* Runs every rule over the value lexed in one context. */
static int scan_context(const unsigned char *s, size_t n, unsigned char quote,
                        struct verdict *v)
{
    struct lexer lx = {s, n, 0, quote, 1, 0, 0, 0};
    struct seq q;
    struct sqli_token t;
    q.n = 0;
    q.eof = 0;
    q.first_win = 1;
    q.s = s;
    q.quote = quote;
    int from = 0;    /* first window index not yet checked by anywhere() */
    int started = 0; /* start_rules() has run */
    v->fp[0] = 0;
    for (;;) {
        while (q.n < WIN && !q.eof) {
            if (!lex_next(&lx, &t))
                q.eof = 1;
            else
                seq_push(&q, &t);
        }
        if (!started) {
            make_fp(&q, v->fp);
            started = 1;
            const struct rule *r = start_rules(&q, quote);
            if (r) {
                v->rule = r;
                v->at = 0;
                v->len = n;
                return 1;
            }
        }
        int upto = q.eof ? q.n : q.n - LOOK;
        for (int i = from; i < upto; i++) {
            const struct rule *r = anywhere(&q, i);
            if (r) {
                v->rule = r;
                v->at = q.t[i].pos;
                v->len = n - q.t[i].pos;
                return 1;
            }
        }
        if (q.eof) return 0;
        /* Slide: keep the last LOOK tokens as context for the next window. */
        memmove(q.t, q.t + (q.n - LOOK), LOOK * sizeof q.t[0]);
        q.n = LOOK;
        from = LOOK;
        q.first_win = 0;
    }
}

/* Words that can carry an attack in a value without SQL punctuation:
 * "1 union select 2", "1 or sleep(5)", "; drop table x", "1 order by 3". */
static const char *const trigger_words[] = {
    "alter",      "benchmark",
    "create",     "declare",
    "delete",     "drop",
    "except",     "exec",
    "execute",    "extractvalue",
    "group",      "having",
    "insert",     "intersect",
    "order",      "procedure",
    "rename",     "replace",
    "select",     "shutdown",
    "sleep",      "syscolumns",
    "sysobjects", "sysusers",
    "truncate",   "union",
    "update",     "updatexml",
    "waitfor",    NULL}; /* sorted: the words of one first letter are together */

/* By word length, a bit per first letter of the trigger words: most prose
 * words are turned away by one load and a shift, without being folded. */
static uint32_t trigger_first[28];
static unsigned char trigger_from[27]; /* first index of each letter's words */
static unsigned char trigger_len[32];
/* the trigger words by length and first two letters: a word without a
 * catalog join is turned away here before it is folded */
static struct waf_lenfilter trigger_filter;

__attribute__((constructor)) static void trigger_init(void)
{
    unsigned i = 0;
    for (int c = 0; c < 26; c++) {
        trigger_from[c] = (unsigned char)i;
        for (; trigger_words[i] && trigger_words[i][0] == 'a' + c; i++) {
            trigger_len[i] = (unsigned char)strlen(trigger_words[i]);
            trigger_first[trigger_len[i]] |= 1u << c;
        }
    }
    trigger_from[26] = (unsigned char)i;
    waf_lenfilter_init(&trigger_filter, trigger_words, i, sizeof trigger_words[0]);
}

/* the first letters of trigger words and catalogs (one load per word) */
static const unsigned char trigger_first_byte[256] = {
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['m'] = 1, ['o'] = 1, ['p'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1,
    ['u'] = 1, ['w'] = 1, ['x'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1,
    ['E'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['M'] = 1, ['O'] = 1, ['P'] = 1,
    ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['W'] = 1, ['X'] = 1};

/* Can the word s[0..n) be a trigger word or catalog by its length and first
 * byte? Most words are turned away here, inline, before the join test. */
static inline int trigger_shape(const unsigned char *s, size_t n)
{
    return n >= 4 && n < 28 && trigger_first_byte[s[0]];
}

/* trigger_word() past trigger_shape(); joined: the word holds a byte that
 * joins catalog names (B_JOIN). */
static int trigger_word_slow(const unsigned char *s, size_t n, int joined)
{
    char w[28];
    if (!joined && !waf_lenfilter_maybe(&trigger_filter, (const char *)s, n)) return 0;
    for (size_t k = 0; k < n; k++)
        w[k] = (char)lower(s[k]);
    if (joined)
        return is_catalog(w, n) ||
               (kw_lookup(w, n) && (kw_lookup(w, n)->flags & KF_DANGER));
    int c = w[0] - 'a';
    for (unsigned t = trigger_from[c]; t < trigger_from[c + 1]; t++)
        if (trigger_len[t] == n && memcmp(trigger_words[t], w, n) == 0) return 1;
    return 0;
}

static inline int trigger_word(const unsigned char *s, size_t n, int joined)
{
    return trigger_shape(s, n) && trigger_word_slow(s, n, joined);
}

/* Byte classes for the cheap test. */
enum { B_STRONG = 1, B_WORD = 2, B_DASH = 4, B_JOIN = 8 };
static const unsigned char byte_class[256] = {
    [0] = B_STRONG,
    ['\''] = B_STRONG,
    ['"'] = B_STRONG,
    ['`'] = B_STRONG,
    ['='] = B_STRONG,
    ['<'] = B_STRONG,
    ['>'] = B_STRONG,
    ['|'] = B_STRONG,
    ['&'] = B_STRONG,
    ['#'] = B_STRONG,
    ['@'] = B_STRONG,
    ['!'] = B_STRONG,
    ['-'] = B_DASH,
    ['/'] = B_DASH,
    ['a' ... 'z'] = B_WORD,
    ['A' ... 'Z'] = B_WORD,
    ['0' ... '9'] = B_WORD,
    [0x80 ... 0xff] = B_WORD,
    /* they join a catalog name: schema.table, pg_sleep, rdb$database */
    ['_'] = B_WORD | B_JOIN,
    ['$'] = B_WORD | B_JOIN,
    ['.'] = B_WORD | B_JOIN,
};

/* Cheap test before lexing: SQL needs either punctuation that prose rarely
 * has (quotes, comparison and boolean symbols, comment markers, @) or one of
 * the trigger words. Parentheses, commas and semicolons alone are everyday
 * text (User-Agent headers) and only count together with a trigger word. */
static int alnum_byte(unsigned char c)
{
    return waf_is_alnum(c);
}

/* Is one of the letter runs of w (a word touching an apostrophe) a SQL
 * keyword or catalog? Digits split runs as the lexer splits "1union". */
static int sql_runs(const char *w, size_t l)
{
    for (size_t k = 0; k < l;) {
        while (k < l && is_digit((unsigned char)w[k]))
            k++;
        size_t b = k;
        while (k < l && !is_digit((unsigned char)w[k]))
            k++;
        if (k > b && (kw_lookup(w + b, k - b) || is_catalog(w + b, k - b))) return 1;
    }
    return 0;
}

/* Does the letters-and-digits word s[0..l) (l < 28; digits: it has one),
 * folded, hold SQL? */
static int sql_word_is(const unsigned char *s, size_t l, int digits)
{
    char w[28];
    /* most such words ("O", "Brien", "s", "don") are no keyword prefix and
     * too short for a catalog: one filter load, no folding */
    if (l < 7 && !digits && !waf_lenfilter_maybe(&kw_filter, (const char *)s, l))
        return 0; /* one run: the word itself */
    for (size_t k = 0; k < l; k++)
        w[k] = (char)lower(s[k]);
    return sql_runs(w, l);
}

/* The letters-and-digits word ending at e (e > 0) or starting at b, folded:
 * does it hold SQL? */
static int sql_word_near(const unsigned char *s, size_t n, size_t b, size_t e)
{
    enum { CAP = 28 }; /* sql_word_is() takes words shorter than this */
    if (e) {
        b = e;
        while (b > 0 && e - b < CAP && alnum_byte(s[b - 1]))
            b--;
    } else {
        e = b;
        while (e < n && e - b < CAP && alnum_byte(s[e]))
            e++;
    }
    if (e - b >= CAP) return 1; /* too long to judge cheaply: lex it */
    size_t k = b;
    while (k < e && !is_digit(s[k]))
        k++;
    return sql_word_is(s + b, e - b, k < e);
}

/* An apostrophe inside a word ("it's", "O'Brien", "Don't") closes a string
 * only to leave a bareword that SQL cannot use: it matters when a keyword
 * ("x'or'1", "1'and") touches it. Other strong bytes decide apart. */
static int apostrophe_strong(const unsigned char *s, size_t n, size_t i)
{
    if (s[i] != '\'' || i == 0 || i + 1 >= n || !alnum_byte(s[i - 1]) ||
        !alnum_byte(s[i + 1]))
        return 1;
    return sql_word_near(s, n, 0, i) || sql_word_near(s, n, i + 1, 0);
}

/* A blank between words; '+' is a space form encoding left as is. */
static int blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '+';
}

/* Is the strong byte s[i] SQL here? Prose uses three of them in ways SQL
 * cannot: '!' ending a sentence (SQL's NOT is glued to its operand or '='),
 * '&' alone between words ("Tom & Jerry"; SQL's "&&" and bitwise '&' take
 * operands, and "1 & 1" keeps digits), '@' inside an address
 * (ann@example.com; variables are "@x" and "@@x" after a space or operator). */
static int strong_here(const unsigned char *s, size_t n, size_t i)
{
    unsigned char prev = i ? s[i - 1] : 0, next = i + 1 < n ? s[i + 1] : 0;
    switch (s[i]) {
    case '\'':
        return apostrophe_strong(s, n, i);
    case '!':
        return !(is_alpha(prev) || prev == ')') ||
               !(next == 0 || blank(next) || next == ')' || next == ',' || next == '.' ||
                 next == '?' || next == '!');
    case '&':
        return !(i >= 2 && i + 2 < n && blank(prev) && blank(next) &&
                 is_alpha(s[i - 2]) && is_alpha(s[i + 2]));
    case '@':
        return !(alnum_byte(prev) && alnum_byte(next));
    default:
        return 1;
    }
}

/* A word that gives SQL logic without punctuation: a boolean or comparison
 * operator, or a number ("1 or true -- x", "1 --"). */
static int logic_word(const unsigned char *s, size_t n)
{
    if (is_digit(s[0])) return 1;
    char w[28];
    if (n >= sizeof w) return 0;
    for (size_t k = 0; k < n; k++)
        w[k] = (char)lower(s[k]);
    const struct kw_entry *kw = kw_lookup(w, n); /* the lexer's own operator words */
    return kw && (kw->type == T_LOGIC || kw->type == T_CMP || kw->type == T_OP);
}

/* "--" with blanks around it after plain words is a dash of prose ("light on
 * the cheese -- doctor's orders"): a comment there cuts off nothing that
 * words without SQL logic could have started. */
static int comment_strong(const unsigned char *s, size_t n, size_t i)
{
    if (s[i] == '/') return 1;
    int spaced = i > 0 && blank(s[i - 1]) && (i + 2 >= n || blank(s[i + 2]));
    if (!spaced) return 1;
    for (size_t k = 0; k < i;) { /* the words before it */
        while (k < i && !(byte_class[s[k]] & B_WORD))
            k++;
        size_t b = k;
        while (k < i && (byte_class[s[k]] & B_WORD))
            k++;
        if (k > b && logic_word(s + b, k - b)) return 1;
    }
    return 0;
}

/* The non-word byte s[i]: a strong byte or a comment opener that is SQL? */
static int punct_sqli(const unsigned char *s, size_t n, size_t i)
{
    unsigned char b = byte_class[s[i]];
    if ((b & B_STRONG) && strong_here(s, n, i)) return 1;
    /* -- and / * comments; a lone - or / is everyday text */
    return (b & B_DASH) && i + 1 < n && s[i + 1] == (s[i] == '-' ? '-' : '*') &&
           comment_strong(s, n, i);
}

/* The byte-at-a-time gate: values of 64 bytes or more, and the reference the
 * mask form is tested against. */
static int maybe_sqli_bytes(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char b = byte_class[s[i]];
        if (b & B_WORD) { /* a whole word, its classes gathered on the way */
            size_t w = i;
            unsigned char all = 0;
            do
                all |= b;
            while (++i < n && ((b = byte_class[s[i]]) & B_WORD));
            if (trigger_word(s + w, i - w, all & B_JOIN)) return 1;
            continue;
        }
        if ((b & B_STRONG) && strong_here(s, n, i)) return 1;
        /* -- and / * comments; a lone - or / is everyday text */
        if ((b & B_DASH) && i + 1 < n && s[i + 1] == (s[i] == '-' ? '-' : '*') &&
            comment_strong(s, n, i))
            return 1;
        i++;
    }
    return 0;
}

#ifdef __SSE2__
/* Bit i: s[i] is a word byte (B_WORD), a joining byte (B_JOIN), a blank. */
struct sqli_masks {
    uint64_t word, join, space, alnum, digit;
};

static inline void classify16(const unsigned char *p, unsigned sh, struct sqli_masks *m)
{
    __m128i c = _mm_loadu_si128((const __m128i *)p);
    /* letters: (c | 0x20) - 'a' <= 25, unsigned; digits: c - '0' <= 9 */
    __m128i l = _mm_sub_epi8(_mm_or_si128(c, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
    __m128i d = _mm_sub_epi8(c, _mm_set1_epi8('0'));
    __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
    __m128i alnum =
        _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(l, _mm_set1_epi8(25)), l), digit);
    __m128i join = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8('_')),
                                             _mm_cmpeq_epi8(c, _mm_set1_epi8('$'))),
                                _mm_cmpeq_epi8(c, _mm_set1_epi8('.')));
    /* bytes >= 0x80 are word bytes: negative as signed */
    __m128i word =
        _mm_or_si128(_mm_or_si128(alnum, join), _mm_cmplt_epi8(c, _mm_setzero_si128()));
    m->word |= (uint64_t)(unsigned)_mm_movemask_epi8(word) << sh;
    m->join |= (uint64_t)(unsigned)_mm_movemask_epi8(join) << sh;
    m->alnum |= (uint64_t)(unsigned)_mm_movemask_epi8(alnum) << sh;
    m->digit |= (uint64_t)(unsigned)_mm_movemask_epi8(digit) << sh;
    m->space |=
        (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(c, _mm_set1_epi8(' ')))
        << sh;
}

/* maybe_sqli_bytes() for n < 64 from bit masks of the byte classes, 16 bytes
 * a step: prose values are words and blanks, and a word costs a few
 * instructions instead of eight per byte. The tests are the same and pure,
 * so their order does not matter. */
static int maybe_sqli_masks(const unsigned char *s, size_t n)
{
    struct sqli_masks m = {0, 0, 0, 0, 0};
    if (n >= 16) {
        size_t i = 0;
        for (; i + 16 <= n; i += 16)
            classify16(s + i, (unsigned)i, &m);
        if (i < n) classify16(s + n - 16, (unsigned)(n - 16), &m); /* overlaps */
    } else {
        unsigned char buf[16] = {0};
        memcpy(buf, s, n);
        classify16(buf, 0, &m);
    }
    uint64_t all = ((uint64_t)1 << n) - 1;
    m.word &= all;
    /* other bytes than words and blanks: strong bytes, comment openers */
    m.alnum &= all;
    for (uint64_t x = all & ~(m.word | m.space); x; x &= x - 1) {
        unsigned i = (unsigned)__builtin_ctzll(x);
        if (s[i] == '\'' && i > 0 && (m.alnum >> (i - 1) & 1) &&
            (m.alnum >> (i + 1) & 1)) {
            /* apostrophe_strong() with the letters-and-digits runs around
             * the in-word quote read from the masks (bits >= n are clear) */
            unsigned lb = (unsigned)__builtin_clzll(~(m.alnum << (64 - i)));
            unsigned la = (unsigned)__builtin_ctzll(~(m.alnum >> (i + 1)));
            if (lb >= 28 || la >= 28 ||
                sql_word_is(s + i - lb, lb,
                            (m.digit >> (i - lb) & ((1u << lb) - 1)) != 0) ||
                sql_word_is(s + i + 1, la, (m.digit >> (i + 1) & ((1u << la) - 1)) != 0))
                return 1;
            continue;
        }
        if (punct_sqli(s, n, i)) return 1;
    }
    for (uint64_t w = m.word; w; w &= w + (w & -w)) { /* one run of word bytes */
        unsigned b = (unsigned)__builtin_ctzll(w);
        unsigned l = (unsigned)__builtin_ctzll(~(w >> b)); /* bit n is clear */
        if (!trigger_shape(s + b, l)) continue;
        int joined = ((m.join >> b) & (((uint64_t)1 << l) - 1)) != 0;
        if (!joined && !waf_lenfilter_maybe(&trigger_filter, (const char *)s + b, l))
            continue;
        if (trigger_word_slow(s + b, l, joined)) return 1;
    }
    return 0;
}
#endif

static int maybe_sqli(const unsigned char *s, size_t n)
{
#ifdef __SSE2__
    if (n < 64) return maybe_sqli_masks(s, n);
#endif
    return maybe_sqli_bytes(s, n);
}

static int detect(const unsigned char *s, size_t n, struct verdict *v)
{
    static const unsigned char contexts[3] = {0, '\'', '"'};
    char fp0[8] = "";
    for (int c = 0; c < 3; c++) {
        if (contexts[c] && !memchr(s, contexts[c], n))
            continue; /* no quote to close: the context cannot apply */
        if (scan_context(s, n, contexts[c], v)) return 1;
        if (c == 0) memcpy(fp0, v->fp, sizeof fp0);
    }
    memcpy(v->fp, fp0, sizeof fp0);
    return 0;
}

/* Removing comments replaces each with a blank and keeps what follows its
 * line break: the words left are words of s, and every strong byte whose
 * neighbours change touched a comment opener, which s already answers for
 * ("/ *" and '#' are strong, "x'--" too). So this test of s covers both forms. */
int waf_sqli_possible(const char *s, size_t n)
{
    return n > 0 && maybe_sqli((const unsigned char *)s, n);
}

int waf_sqli_possible_bytes(const char *s, size_t n)
{
    return n > 0 && maybe_sqli_bytes((const unsigned char *)s, n);
}

int waf_sqli_possible_cs(const char *s, size_t n, unsigned cs)
{
    (void)cs; /* the words decide: the charset has nothing to add */
    return n > 0 && maybe_sqli((const unsigned char *)s, n);
}

int waf_detect_sqli(const char *s, size_t n, enum waf_place place, struct waf_hit *hit)
{
    (void)place;
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0 || !maybe_sqli(u, n)) return 0;
    struct verdict v = {0};
    if (!detect(u, n, &v)) return 0;
    if (hit) {
        hit->rule = v.rule->id;
        hit->cls = WAF_SQLI;
        hit->score = 5;
        hit->reason = v.rule->reason;
        hit->at = v.at;
        hit->len = v.len;
    }
    return 1;
}

int waf_sqli_fingerprint(const char *s, size_t n, char fp[8])
{
    struct verdict v = {0};
    int r = detect((const unsigned char *)s, n, &v);
    memcpy(fp, v.fp, 8);
    return r;
}
