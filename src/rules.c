/* rules: a recursive-descent compiler of conditions into a small tree, and
 * its evaluator (see the header for the grammar and null semantics). */
#include "rules.h"

#include "util.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    N_NUM, N_BOOL, N_NULL, N_VAR, N_NEG, N_NOT, N_AND, N_OR,
    N_ADD, N_SUB, N_MUL, N_DIV, N_LT, N_LE, N_GT, N_GE, N_EQ, N_NE
} node_kind_t;

typedef struct node {
    node_kind_t kind;
    double num;
    char *name;
    struct node *a, *b;
} node_t;

struct up_cond {
    node_t *root;
};

typedef struct {
    const char *s, *p;
    up_name_ok_fn names;
    char *err;
    size_t errlen;
    int failed;
} parser_t;

static void perr(parser_t *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void perr(parser_t *ps, const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = 1;
    int n = snprintf(ps->err, ps->errlen, "column %d: ", (int)(ps->p - ps->s) + 1);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < ps->errlen)
        vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static void skip(parser_t *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

static node_t *mk(parser_t *ps, node_kind_t k, node_t *a, node_t *b)
{
    node_t *n = calloc(1, sizeof *n);
    if (!n) {
        perr(ps, "out of memory");
        return NULL;
    }
    n->kind = k;
    n->a = a;
    n->b = b;
    return n;
}

static void free_node(node_t *n)
{
    if (!n)
        return;
    free_node(n->a);
    free_node(n->b);
    free(n->name);
    free(n);
}

/* A keyword or name at p: its length (letters, digits, '_' and '.'). */
static size_t word_len(const char *p)
{
    size_t n = 0;
    if (!(isalpha((unsigned char)p[0]) || p[0] == '_'))
        return 0;
    while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '.')
        n++;
    return n;
}

static int keyword(parser_t *ps, const char *kw)
{
    skip(ps);
    size_t n = word_len(ps->p);
    if (n == strlen(kw) && strncmp(ps->p, kw, n) == 0) {
        ps->p += n;
        return 1;
    }
    return 0;
}

static node_t *expr(parser_t *ps);

static node_t *atom(parser_t *ps)
{
    skip(ps);
    const char *p = ps->p;
    if (*p == '(') {
        ps->p++;
        node_t *e = expr(ps);
        skip(ps);
        if (*ps->p != ')') {
            free_node(e);
            perr(ps, "expected ')'");
            return NULL;
        }
        ps->p++;
        return e;
    }
    if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !isfinite(v)) {
            perr(ps, "bad number");
            return NULL;
        }
        ps->p = end;
        node_t *n = mk(ps, N_NUM, NULL, NULL);
        if (n)
            n->num = v;
        return n;
    }
    size_t n = word_len(p);
    if (!n) {
        perr(ps, *p ? "unexpected '%c'" : "unexpected end of the condition", *p);
        return NULL;
    }
    static const char *const reserved[] = {"and", "or", "not"};
    for (size_t i = 0; i < 3; i++)
        if (n == strlen(reserved[i]) && strncmp(p, reserved[i], n) == 0) {
            perr(ps, "expected a value, got '%s'", reserved[i]);
            return NULL;
        }
    ps->p += n;
    if (n == 4 && strncmp(p, "true", 4) == 0) {
        node_t *b = mk(ps, N_BOOL, NULL, NULL);
        if (b)
            b->num = 1;
        return b;
    }
    if (n == 5 && strncmp(p, "false", 5) == 0)
        return mk(ps, N_BOOL, NULL, NULL);
    if (n == 4 && strncmp(p, "null", 4) == 0)
        return mk(ps, N_NULL, NULL, NULL);
    char *name = up_strndup(p, n);
    if (!name) {
        perr(ps, "out of memory");
        return NULL;
    }
    if (ps->names && !ps->names(name)) {
        ps->p = p;
        perr(ps, "unknown name '%s'", name);
        free(name);
        return NULL;
    }
    node_t *v = mk(ps, N_VAR, NULL, NULL);
    if (v)
        v->name = name;
    else
        free(name);
    return v;
}

static node_t *unary(parser_t *ps)
{
    skip(ps);
    if (*ps->p == '-') {
        ps->p++;
        node_t *a = unary(ps);
        return a ? mk(ps, N_NEG, a, NULL) : NULL;
    }
    return atom(ps);
}

static node_t *binary(parser_t *ps, node_t *(*sub)(parser_t *), const char *const *ops, const node_kind_t *kinds,
                      size_t nops, int once)
{
    node_t *l = sub(ps);
    while (l && !ps->failed) {
        skip(ps);
        size_t k;
        for (k = 0; k < nops; k++)
            if (strncmp(ps->p, ops[k], strlen(ops[k])) == 0)
                break;
        if (k == nops)
            break;
        ps->p += strlen(ops[k]);
        node_t *r = sub(ps);
        if (!r) {
            free_node(l);
            return NULL;
        }
        node_t *n = mk(ps, kinds[k], l, r);
        if (!n) {
            free_node(l);
            free_node(r);
            return NULL;
        }
        l = n;
        if (once)
            break;
    }
    return l;
}

static node_t *prod(parser_t *ps)
{
    static const char *const ops[] = {"*", "/"};
    static const node_kind_t kinds[] = {N_MUL, N_DIV};
    return binary(ps, unary, ops, kinds, 2, 0);
}

static node_t *sum(parser_t *ps)
{
    static const char *const ops[] = {"+", "-"};
    static const node_kind_t kinds[] = {N_ADD, N_SUB};
    return binary(ps, prod, ops, kinds, 2, 0);
}

static node_t *cmp(parser_t *ps)
{
    /* two-character operators first */
    static const char *const ops[] = {"<=", ">=", "==", "!=", "<", ">"};
    static const node_kind_t kinds[] = {N_LE, N_GE, N_EQ, N_NE, N_LT, N_GT};
    node_t *n = binary(ps, sum, ops, kinds, 6, 1);
    skip(ps);
    if (n && !ps->failed && (*ps->p == '<' || *ps->p == '>' || (ps->p[0] == '=' && ps->p[1] == '='))) {
        perr(ps, "comparisons do not chain: use 'and'");
        free_node(n);
        return NULL;
    }
    if (n && !ps->failed && *ps->p == '=' ) {
        perr(ps, "'=' is not an operator: use '=='");
        free_node(n);
        return NULL;
    }
    return n;
}

static node_t *not_(parser_t *ps)
{
    if (keyword(ps, "not")) {
        node_t *a = not_(ps);
        return a ? mk(ps, N_NOT, a, NULL) : NULL;
    }
    return cmp(ps);
}

static node_t *logic(parser_t *ps, node_t *(*sub)(parser_t *), const char *kw, node_kind_t kind)
{
    node_t *l = sub(ps);
    while (l && !ps->failed && keyword(ps, kw)) {
        node_t *r = sub(ps);
        if (!r) {
            free_node(l);
            return NULL;
        }
        node_t *n = mk(ps, kind, l, r);
        if (!n) {
            free_node(l);
            free_node(r);
            return NULL;
        }
        l = n;
    }
    return l;
}

static node_t *and_(parser_t *ps)
{
    return logic(ps, not_, "and", N_AND);
}

static node_t *expr(parser_t *ps)
{
    return logic(ps, and_, "or", N_OR);
}

int up_cond_compile(const char *text, up_name_ok_fn names, up_cond_t **out, char *err, size_t errlen)
{
    parser_t ps = {text, text, names, err, errlen, 0};
    node_t *root = expr(&ps);
    skip(&ps);
    if (root && !ps.failed && *ps.p)
        perr(&ps, "unexpected '%s'", ps.p);
    if (ps.failed || !root) {
        free_node(root);
        if (!ps.failed)
            perr(&ps, "empty condition");
        return -UP_EPARSE;
    }
    up_cond_t *c = malloc(sizeof *c);
    if (!c) {
        free_node(root);
        snprintf(err, errlen, "out of memory");
        return -UP_ENOMEM;
    }
    c->root = root;
    *out = c;
    return 0;
}

static const up_val_t VNULL = {UP_VAL_NULL, 0, 0};

static up_val_t vnum(double v)
{
    up_val_t r = {UP_VAL_NUM, v, 0};
    return isfinite(v) ? r : VNULL;
}

static up_val_t vbool(int b)
{
    up_val_t r = {UP_VAL_BOOL, 0, b != 0};
    return r;
}

/* -1 null, 0 false, 1 true; a number is not a truth value (null). */
static int truth(up_val_t v)
{
    return v.kind == UP_VAL_BOOL ? v.b : -1;
}

static up_val_t eval(const node_t *n, up_lookup_fn lookup, void *ctx);

/* and (wins = 0) or or (wins = 1) over three values: a side with the winning
 * truth decides (the other is not evaluated when it is the left), two
 * losing sides give the losing truth, anything else null. */
static up_val_t junction(const node_t *n, up_lookup_fn lookup, void *ctx, int wins)
{
    int a = truth(eval(n->a, lookup, ctx));
    if (a == wins)
        return vbool(wins);
    int b = truth(eval(n->b, lookup, ctx));
    if (b == wins)
        return vbool(wins);
    return a == !wins && b == !wins ? vbool(!wins) : VNULL;
}

static up_val_t eval(const node_t *n, up_lookup_fn lookup, void *ctx)
{
    switch (n->kind) {
    case N_NUM: return vnum(n->num);
    case N_BOOL: return vbool(n->num != 0);
    case N_NULL: return VNULL;
    case N_VAR: return lookup(ctx, n->name);
    case N_NEG: {
        up_val_t a = eval(n->a, lookup, ctx);
        return a.kind == UP_VAL_NUM ? vnum(-a.num) : VNULL;
    }
    case N_NOT: {
        int t = truth(eval(n->a, lookup, ctx));
        return t < 0 ? VNULL : vbool(!t);
    }
    case N_AND: return junction(n, lookup, ctx, 0);
    case N_OR: return junction(n, lookup, ctx, 1);
    default: break;
    }
    up_val_t a = eval(n->a, lookup, ctx), b = eval(n->b, lookup, ctx);
    if (n->kind == N_EQ || n->kind == N_NE) {
        if (a.kind == UP_VAL_NULL || b.kind == UP_VAL_NULL || a.kind != b.kind)
            return VNULL;
        int eq = a.kind == UP_VAL_NUM ? a.num == b.num : a.b == b.b;
        return vbool(n->kind == N_EQ ? eq : !eq);
    }
    if (a.kind != UP_VAL_NUM || b.kind != UP_VAL_NUM)
        return VNULL;
    switch (n->kind) {
    case N_ADD: return vnum(a.num + b.num);
    case N_SUB: return vnum(a.num - b.num);
    case N_MUL: return vnum(a.num * b.num);
    case N_DIV: return b.num == 0 ? VNULL : vnum(a.num / b.num);
    case N_LT: return vbool(a.num < b.num);
    case N_LE: return vbool(a.num <= b.num);
    case N_GT: return vbool(a.num > b.num);
    case N_GE: return vbool(a.num >= b.num);
    default: return VNULL;
    }
}

up_val_t up_cond_eval(const up_cond_t *c, up_lookup_fn lookup, void *ctx)
{
    return eval(c->root, lookup, ctx);
}

int up_val_true(up_val_t v)
{
    return v.kind == UP_VAL_BOOL && v.b;
}

static void names_of(const node_t *n, const node_t *root, void (*fn)(void *, const char *), void *ctx);

/* 1 when name appears in the tree before node stop (depth-first order). */
static int seen_before(const node_t *n, const node_t *stop, const char *name, int *found_stop)
{
    if (!n || *found_stop)
        return 0;
    if (n == stop) {
        *found_stop = 1;
        return 0;
    }
    if (n->kind == N_VAR && strcmp(n->name, name) == 0)
        return 1;
    return seen_before(n->a, stop, name, found_stop) || seen_before(n->b, stop, name, found_stop);
}

static void names_of(const node_t *n, const node_t *root, void (*fn)(void *, const char *), void *ctx)
{
    if (!n)
        return;
    if (n->kind == N_VAR) {
        int found = 0;
        if (!seen_before(root, n, n->name, &found))
            fn(ctx, n->name);
    }
    names_of(n->a, root, fn, ctx);
    names_of(n->b, root, fn, ctx);
}

void up_cond_names(const up_cond_t *c, void (*fn)(void *ctx, const char *name), void *ctx)
{
    names_of(c->root, c->root, fn, ctx);
}

void up_cond_free(up_cond_t *c)
{
    if (c) {
        free_node(c->root);
        free(c);
    }
}
