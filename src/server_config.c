/* server_config: the server's settings, their defaults and the config file
 * (a flat YAML mapping; server.h lists the keys). */
#include "server.h"

#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void up_server_cfg_default(up_server_cfg_t *c, const char *data_dir)
{
    memset(c, 0, sizeof *c);
    snprintf(c->data, sizeof c->data, "%s", data_dir);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:8080");
    c->log_level = 2;
    c->queue_events = 200000;
    c->timeout_s = 30;
    c->request_timeout_s = 60;
    c->checkpoint_s = 60;
    c->alerts_every_s = 3600;
    c->clickhouse_refresh_s = 30;
    c->connections_per_ip = 100;
    c->body_memory_mb = 128;
}

int up_server_log_level(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* ---- config file -------------------------------------------------------- */

static int cfg_set(up_server_cfg_t *c, const char *key, const char *val, char *why, size_t whylen)
{
    char *end;
    long n = strtol(val, &end, 10);
    int is_num = *val && !*end;
    if (strcmp(key, "data") == 0 || strcmp(key, "listen") == 0) {
        char *dst = key[0] == 'd' ? c->data : c->listen;
        size_t cap = key[0] == 'd' ? sizeof c->data : sizeof c->listen;
        if (strlen(val) >= cap)   /* cut short, it would name another place */
            return snprintf(why, whylen, "longer than %zu bytes", cap - 1), -1;
        snprintf(dst, cap, "%s", val);
    } else if (strcmp(key, "log_level") == 0) {
        if ((c->log_level = up_server_log_level(val)) < 0)
            return snprintf(why, whylen, "expected error, warn, info or debug, got '%s'", val), -1;
    } else if (strcmp(key, "queue_events") == 0) {
        if (!is_num || n < 100 || n > 100000000)
            return snprintf(why, whylen, "expected a whole number from 100 to 100000000"), -1;
        c->queue_events = (uint32_t)n;
    } else if (strcmp(key, "alerts_every") == 0) {
        if (!is_num || n < 0 || n > 604800)
            return snprintf(why, whylen, "expected seconds from 0 (never) to 604800"), -1;
        c->alerts_every_s = (int)n;
    } else if (strcmp(key, "clickhouse_refresh") == 0) {
        if (!is_num || n < 0 || n > 86400)
            return snprintf(why, whylen, "expected seconds from 0 (every commit, waited for) to 86400"), -1;
        c->clickhouse_refresh_s = (int)n;
    } else if (strcmp(key, "timeout") == 0 || strcmp(key, "request_timeout") == 0 ||
               strcmp(key, "checkpoint") == 0) {
        if (!is_num || n < 1 || n > 86400)
            return snprintf(why, whylen, "expected seconds from 1 to 86400"), -1;
        *(key[0] == 'c' ? &c->checkpoint_s : key[0] == 'r' ? &c->request_timeout_s : &c->timeout_s) = (int)n;
    } else if (strcmp(key, "connections_per_ip") == 0) {
        if (!is_num || n < 0 || n > 1000)
            return snprintf(why, whylen, "expected a whole number from 0 (no limit) to 1000"), -1;
        c->connections_per_ip = (uint32_t)n;
    } else if (strcmp(key, "body_memory_mb") == 0) {
        if (!is_num || n < 48 || n > 65536)
            return snprintf(why, whylen, "expected megabytes from 48 to 65536"), -1;
        c->body_memory_mb = (uint32_t)n;
    } else if (strcmp(key, "vendor_name") == 0 || strcmp(key, "vendor_logo") == 0) {
        char *dst = key[7] == 'n' ? c->vendor_name : c->vendor_logo;
        size_t cap = key[7] == 'n' ? sizeof c->vendor_name : sizeof c->vendor_logo;
        if (strlen(val) >= cap)
            return snprintf(why, whylen, "longer than %zu bytes", cap - 1), -1;
        snprintf(dst, cap, "%s", val);
    } else
        return snprintf(why, whylen, "unknown key (data, listen, log_level, queue_events, timeout,"
                                     " request_timeout, checkpoint, alerts_every, clickhouse_refresh, connections_per_ip,"
                                     " body_memory_mb, vendor_name, vendor_logo)"), -1;
    return 0;
}

int up_server_cfg_load(up_server_cfg_t *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -UP_EIO;
    }
    int rc = up_server_cfg_parse(c, f, path, err, errlen);
    fclose(f);
    return rc;
}

int up_server_cfg_parse(up_server_cfg_t *c, FILE *f, const char *path, char *err, size_t errlen)
{
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    int rc = 0, depth = 0, done = 0;
    char key[64] = "";
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            snprintf(err, errlen, "%s:%zu: %s", path, p.problem_mark.line + 1, p.problem ? p.problem : "bad YAML");
            rc = -UP_EPARSE;
            break;
        }
        size_t line = ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_MAPPING_START_EVENT:
            if (++depth > 1) {
                snprintf(err, errlen, "%s:%zu: %s: expected a plain value", path, line, key);
                rc = -UP_EPARSE;
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
            snprintf(err, errlen, "%s:%zu: %s: expected a plain value, not a list", path, line, key[0] ? key : "config");
            rc = -UP_EPARSE;
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            if (!key[0])
                snprintf(key, sizeof key, "%s", v);
            else {
                char why[256];
                if (cfg_set(c, key, v, why, sizeof why) < 0) {
                    snprintf(err, errlen, "%s:%zu: %s: %s", path, line, key, why);
                    rc = -UP_EPARSE;
                }
                key[0] = '\0';
            }
            break;
        }
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return rc;
}
