/*
 * plugins/waf/sqli_tokens.h — private to sqli.c: the token model of the SQL
 * injection detector.
 *
 * A value is read as the tail of a SQL statement the application built around
 * it. The lexer turns it into typed tokens; the type letters are the ones the
 * fingerprint shows (libinjection's convention, so logs read the same way).
 */
#ifndef FOYER_WAF_SQLI_TOKENS_H
#define FOYER_WAF_SQLI_TOKENS_H

#include <stddef.h>

/* Token types (the fingerprint letters). */
enum {
    T_STRING = 's',  /* 'quoted' or "quoted" literal, X'..', N'..' */
    T_NAME = 'n',    /* bareword, `quoted` or a.b qualified name */
    T_NUMBER = '1',  /* number, NULL, TRUE, FALSE */
    T_VAR = 'v',     /* @var, @@sysvar */
    T_FUNC = 'f',    /* a name directly followed by '(' */
    T_OP = 'o',      /* arithmetic, bitwise, concatenation, cast */
    T_CMP = '=',     /* = < > <= >= <> != <=> LIKE IN IS BETWEEN REGEXP ... */
    T_LOGIC = '&',   /* AND OR XOR && || */
    T_UNION = 'U',   /* UNION [ALL|DISTINCT], INTERSECT, EXCEPT */
    T_STMT = 'E',    /* a statement keyword: SELECT, INSERT, DROP, EXEC ... */
    T_DELAY = 'T',   /* WAITFOR [DELAY|TIME] */
    T_GROUP = 'B',   /* GROUP BY, ORDER BY, HAVING, LIMIT */
    T_KEYWORD = 'k', /* any other SQL keyword (FROM, WHERE, AS, INTO ...) */
    T_COMMENT = 'c', /* -- # or / * * / */
    T_LPAREN = '(',
    T_RPAREN = ')',
    T_COMMA = ',',
    T_SEMI = ';',
    T_OTHER = 'X' /* a byte SQL has no use for ({, }, \, ...) */
};

/* Token flags. */
enum {
    TF_UNTERM = 1u << 0,  /* string or comment runs to the end of the value */
    TF_DANGER = 1u << 1,  /* function that only attacks call: sleep, load_file */
    TF_CATALOG = 1u << 2, /* system catalog name: information_schema ... */
    TF_SYSVAR = 1u << 3,  /* @@name */
    TF_STAR = 1u << 4,    /* the '*' operator (select *) */
    TF_BREAK = 1u << 5,   /* the string that closes the application's quote */
    TF_BLANK = 1u << 6    /* whitespace came before this token */
};

/* Keywords the rules refer to by identity (others are K_NONE). */
enum sqli_kw {
    K_NONE = 0,
    K_SELECT,
    K_INSERT,
    K_REPLACE,
    K_UPDATE,
    K_DELETE,
    K_DDL, /* DROP CREATE ALTER TRUNCATE RENAME */
    K_EXEC,
    K_DECLARE,
    K_SET,
    K_SHUTDOWN,
    K_CALL,
    K_FROM,
    K_WHERE,
    K_AS,
    K_ALL,
    K_DISTINCT,
    K_INTO,
    K_VALUES,
    K_OBJECT, /* TABLE DATABASE SCHEMA VIEW INDEX PROCEDURE FUNCTION TRIGGER USER */
    K_OUTFILE,
    K_JOIN,
    K_BY,
    K_GROUP,
    K_ORDER,
    K_NOT,
    K_IS,
    K_LIKE,
    K_SOUNDS,
    K_DELAY,
    K_TOP,
    K_CASE,
    K_IMMEDIATE,
    K_QUICK, /* DELETE modifiers: QUICK LOW_PRIORITY IGNORE */
    K_PROCEDURE,
    K_LIMIT,
    K_HAVING,
    K_WITH
};

struct sqli_token {
    unsigned char type;  /* T_* */
    unsigned char flags; /* TF_* */
    unsigned char kw;    /* enum sqli_kw */
    unsigned pos, len;   /* span in the value */
};

#endif /* FOYER_WAF_SQLI_TOKENS_H */
