/* model_yaml: the YAML text of a model, below the key tables of model.c:
 * the nesting guard run before libyaml builds a document, and the quoting
 * of strings in a dumped model. Invariant: a string quoted here reads back
 * byte for byte, and a text that passes the guard is nested at most
 * UP_MODEL_MAX_DEPTH lists and maps deep. */
#ifndef UP_MODEL_YAML_H
#define UP_MODEL_YAML_H

#include <stddef.h>

#include "util.h"

#define UP_MODEL_MAX_DEPTH 64

/* Streams text's YAML events (no document is built) and returns the
 * 1-based line of the first list or map nested deeper than
 * UP_MODEL_MAX_DEPTH, or 0 when there is none or when the text has a syntax
 * error (the parse that follows reports it). Linear in len: libyaml's
 * scanner does work proportional to the nesting depth for every token, so
 * the walk stops as soon as the depth passes the limit. */
unsigned long up_model_yaml_too_deep(const char *text, size_t len);

/* Appends s to b as a YAML scalar: plain when no YAML reader could take it
 * for anything but a string, else double-quoted with \" \\ escaped, control
 * bytes as \xNN and the Unicode line breaks U+0085, U+2028, U+2029 as \N,
 * \L, \P (raw, a reader folds them into spaces). Returns 0 or -UP_ENOMEM. */
int up_model_yaml_string(up_buf_t *b, const char *s);

#endif
