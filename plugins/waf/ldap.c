/*
 * plugins/waf/ldap.c — LDAP filter injection (rules 921500+).
 *
 * An injected value closes the application's filter and opens its own: filter
 * metacharacters in the order only a filter has them. Parentheses in prose
 * ("(a)(b)", smileys) lack the operators and attribute assertions around them.
 *
 *   921500  a composite filter opened in the value: "(|(", "(&(", "(!(", or the
 *           absolute true/false filters "(&)" "(|)"
 *   921510  a closed filter followed by a new assertion: ")(uid=", "*)(cn="
 *   921520  wildcard closing filters: "*))"
 *   921530  objectClass assertion "(objectclass="
 */
#include "detect.h"
#include "detect_util.h"

#include <string.h>

/* attr[~<>]?= after position j (an attribute description is [A-Za-z0-9.;-]). */
static int assertion_at(const char *s, size_t n, size_t j)
{
    j = waf_skip_space(s, n, j);
    size_t a = j;
    while (j < n && (waf_is_alnum((unsigned char)s[j]) || s[j] == '-' || s[j] == '.' ||
                     s[j] == ';' || s[j] == '_'))
        j++;
    if (j == a || !waf_is_alpha((unsigned char)s[a])) return 0;
    j = waf_skip_space(s, n, j);
    if (j < n && (s[j] == '~' || s[j] == '<' || s[j] == '>')) j++;
    return j < n && s[j] == '=';
}

int waf_detect_ldap(const char *s, size_t n, enum waf_place place, struct waf_hit *hit)
{
    (void)place;
    if (!s || n < 3) return 0;
    const char *p = s;
    while ((p = memchr(p, '(', n - (size_t)(p - s))) != NULL) {
        size_t i = (size_t)(p - s);
        size_t j = waf_skip_space(s, n, i + 1);
        if (j < n && (s[j] == '|' || s[j] == '&' || s[j] == '!')) {
            size_t k = waf_skip_space(s, n, j + 1);
            /* "(|(" opens a composite; "(&)" / "(|)" are the absolute true/false */
            if (k < n && (s[k] == '(' || (s[k] == ')' && s[j] != '!')))
                return waf_hit_set(hit, 921500, WAF_LDAP, 5, "LDAP composite filter", i,
                                   k + 1 - i);
        }
        if (waf_starts_ci(s, n, j, "objectclass") && assertion_at(s, n, j))
            return waf_hit_set(hit, 921530, WAF_LDAP, 5, "LDAP objectClass filter", i,
                               12);
        /* ")(" + assertion */
        size_t b = i;
        while (b > 0 && waf_is_space((unsigned char)s[b - 1]))
            b--;
        if (b > 0 && s[b - 1] == ')' && assertion_at(s, n, i + 1))
            return waf_hit_set(hit, 921510, WAF_LDAP, 5, "LDAP filter break-out", b - 1,
                               i + 1 - (b - 1));
        p++;
    }
    for (size_t i = 0; i + 2 < n; i++)
        if (s[i] == '*' && s[i + 1] == ')' && s[i + 2] == ')')
            return waf_hit_set(hit, 921520, WAF_LDAP, 5, "LDAP wildcard filter close", i,
                               3);
    return 0;
}
