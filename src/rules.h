/* rules: the condition language of alert rules. A condition is an expression
 * over an account's metrics and signals, e.g.
 *     breadth < 0.40 and days_into_contract > 60
 *     wau_trend <= -0.30 or not champion_active
 * Grammar (no code execution, no functions, no assignment):
 *     expr   := or
 *     or     := and ("or" and)*
 *     and    := not ("and" not)*
 *     not    := "not" not | cmp
 *     cmp    := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
 *     sum    := prod (("+" | "-") prod)*
 *     prod   := unary (("*" | "/") unary)*
 *     unary  := "-" unary | atom
 *     atom   := NUMBER | NAME | "true" | "false" | "null" | "(" expr ")"
 * Values are numbers, booleans or null. Null is contagious through
 * arithmetic and comparisons (a comparison with null is null), "not null" is
 * null, "and"/"or" follow SQL's three-valued logic, and a condition fires only
 * when it evaluates to true. Invariant: a compiled condition only refers to
 * names the caller declared valid. */
#ifndef UP_RULES_H
#define UP_RULES_H

#include <stddef.h>

typedef struct up_cond up_cond_t;

typedef enum { UP_VAL_NULL, UP_VAL_NUM, UP_VAL_BOOL } up_val_kind_t;
typedef struct {
    up_val_kind_t kind;
    double num;      /* UP_VAL_NUM */
    int b;           /* UP_VAL_BOOL */
} up_val_t;

/* Whether name is a variable the caller can supply. */
typedef int (*up_name_ok_fn)(const char *name);
/* The value of a variable for the account being judged. */
typedef up_val_t (*up_lookup_fn)(void *ctx, const char *name);

/* Compiles text. On error returns -UP_EPARSE and writes "column N: reason"
 * into err (the caller adds file and line). names may be NULL (any name). */
int up_cond_compile(const char *text, up_name_ok_fn names, up_cond_t **out, char *err, size_t errlen);

/* Evaluates c; lookup supplies variables. */
up_val_t up_cond_eval(const up_cond_t *c, up_lookup_fn lookup, void *ctx);

/* 1 when the value is true (the only value that fires a rule). */
int up_val_true(up_val_t v);

/* Calls fn for each distinct variable name c refers to (to show the values
 * that tripped a rule). */
void up_cond_names(const up_cond_t *c, void (*fn)(void *ctx, const char *name), void *ctx);

void up_cond_free(up_cond_t *c);

#endif
