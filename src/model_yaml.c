/* model_yaml: the nesting guard and the string quoting of model YAML (see
 * the header). */
#include "model_yaml.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

unsigned long up_model_yaml_too_deep(const char *text, size_t len)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return 0;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    unsigned long deep_at = 0;
    int depth = 0;
    for (bool done = false; !done && !deep_at;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev))
            break;
        switch (ev.type) {
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (++depth > UP_MODEL_MAX_DEPTH)
                deep_at = (unsigned long)ev.start_mark.line + 1;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return deep_at;
}

/* The escape of a Unicode line break at p (U+0085, U+2028, U+2029), or NULL;
 * *len is the bytes it replaces. */
static const char *line_break_escape(const unsigned char *p, size_t *len)
{
    if (p[0] == 0xC2 && p[1] == 0x85) {
        *len = 2;
        return "\\N";
    }
    if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) {
        *len = 3;
        return p[2] == 0xA8 ? "\\L" : "\\P";
    }
    return NULL;
}

int up_model_yaml_string(up_buf_t *b, const char *s)
{
    static const char *const words[] = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"};
    bool plain = (*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) &&
                 !s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/")];
    for (size_t i = 0; plain && i < sizeof words / sizeof *words; i++)
        plain = strcasecmp(s, words[i]) != 0;
    if (plain)
        return up_buf_puts(b, s);
    int rc = up_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8] = {(char)*p, 0};
        size_t len;
        const char *brk = line_break_escape(p, &len);
        if (brk) {
            snprintf(esc, sizeof esc, "%s", brk);
            p += len - 1;
        } else if (*p == '"' || *p == '\\')
            snprintf(esc, sizeof esc, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            snprintf(esc, sizeof esc, "\\x%02x", *p);
        rc |= up_buf_puts(b, esc);
    }
    return rc | up_buf_puts(b, "\"");
}
