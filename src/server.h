/* server: `uptake serve`: the HTTP ingestion endpoints of the Segment,
 * RudderStack, PostHog and Mixpanel clients, the JSON API, /healthz and
 * /metrics, over one store opened for writing. Invariant: a request is
 * answered 2xx only after every event it carried is in events.log and
 * fsynced (group commit: one fsync for all requests waiting at that moment);
 * a storage failure answers 503 and leaves the store as it was. */
#ifndef UP_SERVER_H
#define UP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    char data[1024];          /* the store's directory */
    char listen[128];         /* host:port; port 0 picks a free one (printed at start) */
    int log_level;            /* 0 error, 1 warn, 2 info (a line per request), 3 debug */
    uint32_t queue_events;    /* events waiting for the disk before 429 (default 200,000) */
    int timeout_s;            /* idle connection timeout: no byte for this long (default 30) */
    int request_timeout_s;    /* a request's headers and body must arrive within this long of the
                               * connection opening or the previous answer on it (default 60) */
    int checkpoint_s;         /* write the rollup snapshot at most this often (default 60) */
    int alerts_every_s;       /* evaluate the alert rules this often; 0: never (default 3600) */
    int clickhouse_refresh_s; /* a ClickHouse store: the API's figures are rebuilt in the background
                               * at most this often after new events; 0: on the first request after
                               * each commit, which waits for it (default 30) */
    uint32_t connections_per_ip;   /* connections open at once from one address; 0: no limit
                               * beyond the server's 1,000 (default 100) */
    uint32_t body_memory_mb;  /* request bodies held at once, as received plus the room to
                               * decompress them; beyond it 429 (default 128) */
    char assets_dir[1024];    /* serve the dashboard from this directory (development); "": embedded */
    char vendor_name[256];    /* atop the customer's QBR (GET /api/v1/accounts/{id}/qbr); "": none */
    char vendor_logo[1024];   /* its logo: a PNG, JPEG, GIF or SVG file, read at start; "": none */
} up_server_cfg_t;

/* The defaults above, with data set to data_dir. */
void up_server_cfg_default(up_server_cfg_t *c, const char *data_dir);

/* Reads a config file (YAML: a flat mapping of the keys above: data, listen,
 * log_level as error|warn|info|debug, queue_events, timeout, request_timeout,
 * checkpoint, alerts_every, clickhouse_refresh, connections_per_ip, body_memory_mb,
 * vendor_name, vendor_logo)
 * into c. Returns 0 or -UP_EPARSE with "FILE:LINE: key: reason" in err. */
int up_server_cfg_load(up_server_cfg_t *c, const char *path, char *err, size_t errlen);
/* The same from an open stream f (not closed), named path in messages. */
int up_server_cfg_parse(up_server_cfg_t *c, FILE *f, const char *path, char *err, size_t errlen);

/* Parses a log level name; -1 when unknown. */
int up_server_log_level(const char *s);

/* Runs until SIGTERM or SIGINT: then stops accepting, drains the requests
 * in flight, writes the snapshot and closes the store. Log lines go to log.
 * Returns 0, or a negative UP_E* code with a message in err when the store
 * or the socket could not be opened. */
int up_server_run(const up_server_cfg_t *c, FILE *log, char *err, size_t errlen);

#endif
