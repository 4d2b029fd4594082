/* store_ch_scan: the event stream of a ClickHouse store (store_ch_scan.h
 * has the contract). Each shard is asked, on its local table, for its
 * de-duplicated events (the same subquery as up_ch_fill's, with the storing
 * order seq kept) filtered by time, event name and account, sorted by
 * (account, user, ts, seq): per pair the order of the embedded log, and
 * consecutive rows of one pair, so that the pair is looked up once per run.
 * The answer (TabSeparated) is parsed a line at a time as libcurl hands it
 * over; only a line split across two chunks is copied. */
#include "store_ch_scan.h"
#include "util.h"

#include "dynlib.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The IN list of wanted names goes into the query only while it is short:
 * ClickHouse refuses queries over max_query_size (256 KiB by default).
 * Past this, every name is asked for and the callback's filter on want does
 * the choosing. */
#define MAX_IN_BYTES (128 * 1024)
/* A line longer than this (a row of four strings) is a broken answer; the
 * bound keeps the carry-over buffer bounded too. */
#define MAX_LINE (4 * 1024 * 1024)

/* s as a ClickHouse string literal: quoted, with backslash and quote
 * escaped and control bytes as \xHH, so that no name can end the literal. */
int up_ch_put_literal(up_buf_t *b, const char *s, size_t n)
{
    int rc = up_buf_append(b, "'", 1);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '\'')
            rc = up_buf_printf(b, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            rc = up_buf_printf(b, "\\x%02x", c);
        else
            rc = up_buf_append(b, &s[i], 1);
    }
    return rc < 0 || up_buf_append(b, "'", 1) < 0 ? -UP_ENOMEM : 0;
}

/* The wanted names r knows as "('a', 'b')" in b, or b empty when the list
 * is too long (see MAX_IN_BYTES); *n their number. */
static int in_list(const up_rollup_t *r, const uint8_t *want, uint32_t n_want, up_buf_t *b, uint32_t *n)
{
    const up_dict_t *d = &r->dict[UP_KIND_EVENT];
    uint32_t lim = n_want < d->n ? n_want : d->n;
    *n = 0;
    if (up_buf_append(b, "(", 1) < 0)
        return -UP_ENOMEM;
    for (uint32_t e = 0; e < lim; e++) {
        if (!want[e])
            continue;
        if ((*n && up_buf_append(b, ", ", 2) < 0) || up_ch_put_literal(b, up_dict_str(d, e), d->lens[e]) < 0)
            return -UP_ENOMEM;
        ++*n;
    }
    if (b->len > MAX_IN_BYTES)
        up_buf_reset(b);
    else if (up_buf_append(b, ")", 1) < 0)
        return -UP_ENOMEM;
    return 0;
}

/* The filter on time, event name (names: in_list's, or "") and account,
 * over the columns named acol, ecol and tcol. */
static int filter(up_buf_t *b, const char *acol, const char *ecol, const char *tcol, const char *names,
                  const char *account, int64_t from, int64_t T)
{
    int rc = up_buf_printf(b, "%s <= %lld", tcol, (long long)T);
    if (rc == 0 && from > INT64_MIN)
        rc = up_buf_printf(b, " AND %s >= %lld", tcol, (long long)from);
    if (rc == 0 && names[0])
        rc = up_buf_printf(b, " AND %s IN %s", ecol, names);
    if (rc == 0 && account && (rc = up_buf_printf(b, " AND %s = ", acol)) == 0)
        rc = up_ch_put_literal(b, account, strlen(account));
    return rc < 0 ? -UP_ENOMEM : 0;
}

/* The query for one shard. Events without a message id are filtered where
 * they are read. Those with one are de-duplicated first and filtered after,
 * since the row stored first decides the event's time, name and account;
 * for one account the ids are first narrowed to those with a row of that
 * account, which keeps every row of each remaining id and so the same
 * winner. */
static int scan_sql(up_ch_t *ch, const up_rollup_t *r, const char *account, int64_t from, int64_t T,
                    const uint8_t *want, uint32_t n_want, up_buf_t *sql, uint32_t *n_names)
{
    const char *db = up_ch_database(ch), *t = up_ch_local_table(ch);
    up_buf_t in = {0}, f_raw = {0}, f_out = {0}, f_acc = {0};
    int rc = in_list(r, want, n_want, &in, n_names);
    const char *names = in.len ? in.data : "";
    if (rc == 0)
        rc = filter(&f_raw, "account_id", "event", "ts", names, account, from, T);
    if (rc == 0)
        rc = filter(&f_out, "a", "e", "t", names, account, from, T);
    if (rc == 0 && account)
        rc = up_buf_printf(&f_acc, " AND message_id IN (SELECT message_id FROM %s.%s WHERE account_id = ", db, t) < 0 ||
             up_ch_put_literal(&f_acc, account, strlen(account)) < 0 || up_buf_puts(&f_acc, ")") < 0 ? -UP_ENOMEM : 0;
    if (rc == 0 && up_buf_puts(sql, "SELECT a, u, e, t, s FROM (") < 0)
        rc = -UP_ENOMEM;
    if (rc == 0)
        rc = up_ch_dedup_sql(ch, sql, f_raw.data, f_acc.data ? f_acc.data : "", f_out.data);
    if (rc == 0 && up_buf_puts(sql, ") ORDER BY a, u, t, s FORMAT TabSeparated") < 0)
        rc = -UP_ENOMEM;
    up_buf_free(&in);
    up_buf_free(&f_raw);
    up_buf_free(&f_out);
    up_buf_free(&f_acc);
    return rc;
}

/* One shard's answer being read. */
typedef struct {
    up_ch_t *ch;
    const char *url;
    up_rollup_t *r;
    const uint8_t *want;
    uint32_t n_want;
    int (*fn)(void *, const up_ev_t *);
    void *ctx;
    CURL *curl;
    long status;          /* 0 until the first chunk */
    up_buf_t carry;       /* a line split across chunks */
    up_buf_t body;        /* a refusal's body (its first 600 bytes) */
    up_buf_t last;        /* the last row's account and user, escaped, for pair */
    int64_t pair;         /* their pair in r, or -1 */
    int rc;               /* fn's value or a parse error: stops the transfer */
} stream_t;

static int broken(stream_t *st, const char *line, size_t n)
{
    size_t len;
    char *err = up_ch_errbuf(st->ch, &len);
    return st->rc = up_errf(err, len, -UP_EIO, "ClickHouse at %s: cannot read its answer at \"%.*s\"", st->url,
                            (int)(n > 300 ? 300 : n), line);
}

/* The pair of the row whose account and user are the escaped a..u_end, or
 * -1 when r does not know it. Rows come grouped by pair: one lookup a run. */
static int64_t pair_of(stream_t *st, char *a, size_t alen, char *u, size_t ulen)
{
    size_t n = alen + 1 + ulen;   /* "a\tu" as it stands in the line */
    if (st->last.len == n && st->last.data && !memcmp(st->last.data, a, n))
        return st->pair;
    up_buf_reset(&st->last);
    if (up_buf_append(&st->last, a, n) < 0) {
        st->rc = -UP_ENOMEM;
        return -1;
    }
    alen = up_ch_tsv_unescape(a, alen);
    ulen = up_ch_tsv_unescape(u, ulen);
    int64_t aid = up_dict_find(&st->r->dict[UP_KIND_ACCOUNT], a, alen);
    int64_t uid = up_dict_find(&st->r->dict[UP_KIND_USER], u, ulen);
    uint32_t p = aid < 0 || uid < 0 ? UINT32_MAX : up_map64_get(&st->r->pair_index, (uint64_t)aid << 32 | (uint64_t)uid);
    return st->pair = p == UINT32_MAX ? -1 : (int64_t)p;
}

/* One row: account, user, event, ts, seq. */
static void row(stream_t *st, char *line, size_t n)
{
    char *f[5], *p = line, *end = line + n;
    size_t len[5];
    for (int i = 0; i < 5; i++) {
        char *tab = i < 4 ? memchr(p, '\t', (size_t)(end - p)) : end;
        if (!tab || (i == 4 && memchr(p, '\t', (size_t)(end - p)))) {
            broken(st, line, n);
            return;
        }
        f[i] = p;
        len[i] = (size_t)(tab - p);
        p = tab + 1;
    }
    /* ts and seq must be whole numbers: an error ClickHouse appends to an
     * answer it has begun ("Code: …") may follow a row cut short, and then
     * ends up in the last field */
    char num[24];
    int64_t ts = 0;
    for (int i = 3; i < 5; i++) {
        char *nend;
        if (len[i] == 0 || len[i] >= sizeof num) {
            broken(st, line, n);
            return;
        }
        memcpy(num, f[i], len[i]);
        num[len[i]] = '\0';
        long long v = strtoll(num, &nend, 10);
        if (*nend || (i == 4 && num[0] == '-')) {
            broken(st, line, n);
            return;
        }
        if (i == 3)
            ts = v;
    }
    int64_t pair = pair_of(st, f[0], len[0], f[1], len[1]);
    size_t elen = up_ch_tsv_unescape(f[2], len[2]);
    int64_t eid = pair < 0 ? -1 : up_dict_find(&st->r->dict[UP_KIND_EVENT], f[2], elen);
    if (st->rc || eid < 0 || (uint64_t)eid >= st->n_want || !st->want[eid])
        return;
    up_ev_t ev = {ts, (uint32_t)pair, (uint32_t)eid};
    st->rc = st->fn(st->ctx, &ev);
}

static size_t on_chunk(char *p, size_t size, size_t nmemb, void *arg)
{
    stream_t *st = arg;
    size_t n = size * nmemb;
    if (!st->status)
        up_curl()->easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &st->status);
    if (st->status != 200) {   /* ClickHouse says why: keep the start of it */
        size_t room = st->body.len < 600 ? 600 - st->body.len : 0;
        return up_buf_append(&st->body, p, n < room ? n : room) < 0 ? 0 : n;
    }
    char *end = p + n;
    while (p < end && !st->rc) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t k = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (st->carry.len + k > MAX_LINE) {
            broken(st, st->carry.len ? st->carry.data : p, st->carry.len ? st->carry.len : k);
            break;
        }
        if (!nl || st->carry.len) {   /* the line's start or end is in another chunk */
            if (up_buf_append(&st->carry, p, k) < 0) {
                st->rc = -UP_ENOMEM;
                break;
            }
            if (nl) {
                row(st, st->carry.data, st->carry.len);
                up_buf_reset(&st->carry);
            }
        } else {
            row(st, p, k);
        }
        p = nl ? nl + 1 : end;
    }
    return st->rc ? 0 : n;
}

/* Streams shard i's answer to sql through st. */
static int scan_shard(stream_t *st, const char *sql)
{
    size_t errlen;
    char *err = up_ch_errbuf(st->ch, &errlen), url[2048];
    char params[64];
    up_ch_query_params(strlen(sql), params, sizeof params);
    snprintf(url, sizeof url, "%s/?%s", st->url, params);
    if (!(st->curl = up_curl()->easy_init()))
        return up_curl_missing() ? up_errf(err, errlen, -UP_EIO, "cannot reach ClickHouse at %s: %s", st->url,
                                           up_curl_missing())
                                 : -UP_ENOMEM;
    up_ch_curl_auth(st->ch, st->curl);
    up_curl()->easy_setopt(st->curl, CURLOPT_URL, url);
    up_curl()->easy_setopt(st->curl, CURLOPT_POST, 1L);
    up_curl()->easy_setopt(st->curl, CURLOPT_POSTFIELDS, sql);
    up_curl()->easy_setopt(st->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(sql));
    up_curl()->easy_setopt(st->curl, CURLOPT_WRITEFUNCTION, on_chunk);
    up_curl()->easy_setopt(st->curl, CURLOPT_WRITEDATA, st);
    up_curl()->easy_setopt(st->curl, CURLOPT_CONNECTTIMEOUT, 5L);
    /* no bound on the whole transfer, which lasts as long as the stream is
     * long and its consumer slow; only on ten minutes of silence (a sort
     * on the server before the first row included) */
    up_curl()->easy_setopt(st->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    up_curl()->easy_setopt(st->curl, CURLOPT_LOW_SPEED_TIME, 600L);
    up_curl()->easy_setopt(st->curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = up_curl()->easy_perform(st->curl);
    if (!st->status)
        up_curl()->easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &st->status);
    up_curl()->easy_cleanup(st->curl);
    st->curl = NULL;
    if (st->rc)   /* fn stopped the scan, or a line did not parse */
        return st->rc;
    if (cc != CURLE_OK)
        return up_errf(err, errlen, -UP_EIO, "cannot reach ClickHouse at %s: %s", st->url,
                       up_curl()->easy_strerror(cc));
    if (st->status != 200) {
        size_t n = st->body.len;
        while (n && (st->body.data[n - 1] == '\n' || st->body.data[n - 1] == ' '))
            n--;
        return up_errf(err, errlen, -UP_EIO, "ClickHouse at %s answered HTTP %ld: %.*s", st->url, st->status, (int)n,
                       st->body.data ? st->body.data : "");
    }
    if (st->carry.len)   /* the answer broke off inside a row */
        return broken(st, st->carry.data, st->carry.len);
    return 0;
}

int up_ch_scan_events(up_ch_t *ch, up_rollup_t *r, const char *account, int64_t from, int64_t T,
                      const uint8_t *want, uint32_t n_want, int (*fn)(void *ctx, const up_ev_t *ev), void *ctx)
{
    size_t errlen;
    up_ch_errbuf(ch, &errlen)[0] = '\0';
    if (r->index_stale && r->n_pairs) {   /* a lookup builds the pair index (it adds nothing: the pair is known) */
        int added;
        int64_t pid = up_rollup_pair(r, r->pairs[0].account, r->pairs[0].user, &added);
        if (pid < 0)
            return (int)pid;
    }
    up_buf_t sql = {0};
    uint32_t n_names = 0;
    int rc = scan_sql(ch, r, account, from, T, want, n_want, &sql, &n_names);
    for (int i = 0; rc == 0 && n_names && i < up_ch_shards(ch); i++) {
        stream_t st = {.ch = ch, .url = up_ch_url(ch, i), .r = r, .want = want, .n_want = n_want, .fn = fn,
                       .ctx = ctx, .pair = -1};
        rc = scan_shard(&st, sql.data);
        up_buf_free(&st.carry);
        up_buf_free(&st.body);
        up_buf_free(&st.last);
    }
    up_buf_free(&sql);
    return rc;
}
