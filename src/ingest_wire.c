/* ingest_wire: messages decoded from HTTP requests (wire.h) into the records
 * of ingest (reader.h), and stored through the same validation as a file
 * import. The wire decoder knows each client family's format; this file
 * knows the model: the ingest.traits mapping of identify and group traits
 * onto the user and account fields. Group calls link a user to an account
 * and events without an account id take the user's account: both are done
 * by up_ingest_message, the same code a Segment JSONL import runs. */
#include "ingest.h"

#include "fmt.h"

#include <string.h>

/* A wire message as the record the ingest session takes; the record points
 * into m, tsbuf and num (up to four numeric traits as text). */
static void to_record(const up_model_t *model, const up_wire_msg_t *m, up_record_t *r, char *tsbuf, size_t tslen,
                      char num[4][32])
{
    memset(r, 0, sizeof *r);
    r->line = 0;
    r->kind = m->kind == UP_WIRE_IDENTIFY ? UP_MSG_IDENTIFY : m->kind == UP_WIRE_GROUP ? UP_MSG_GROUP
            : m->kind == UP_WIRE_ALIAS ? UP_MSG_ALIAS : UP_MSG_TRACK;
    snprintf(tsbuf, tslen, "%lld", (long long)m->ts);
    const char *v[UP_EF_N] = {0};
    v[UP_EF_TS] = tsbuf;
    v[UP_EF_USER] = m->user_id;
    v[UP_EF_ACCOUNT] = m->account_id;
    v[UP_EF_EVENT] = m->event;
    v[UP_EF_MSGID] = m->message_id;
    /* traits, through the model's ingest.traits: the names listed, else the
     * field's own name and its camelCase form */
    static const int field_of[UP_TRAITS] = {UP_EF_CREATED, UP_EF_ROLE, UP_EF_NAME, UP_EF_SEATS, UP_EF_PLAN,
                                            UP_EF_SEGMENT, UP_EF_OWNER, UP_EF_ARR, UP_EF_CSTART, UP_EF_RENEW};
    int k = 0;
    for (int f = 0; m->traits && f < UP_TRAITS; f++) {
        json_t *t = NULL;
        if (model->ingest.traits[f].n) {
            for (size_t i = 0; !t && i < model->ingest.traits[f].n; i++)
                t = json_object_get(m->traits, model->ingest.traits[f].names[i]);
        } else {
            char camel[32];
            t = json_object_get(m->traits, up_trait_fields[f]);
            if (!t && up_model_trait_default(f, camel, sizeof camel))
                t = json_object_get(m->traits, camel);
        }
        int field = field_of[f];
        if (json_is_string(t))
            v[field] = json_string_value(t);
        else if (json_is_number(t) && k < 4) {
            if (json_is_integer(t))
                snprintf(num[k], 32, "%lld", (long long)json_integer_value(t));
            else
                up_fmt_double(num[k], 32, json_real_value(t));
            v[field] = num[k++];
        }
    }
    for (int i = 0; i < UP_EF_N; i++) {
        r->val[i] = v[i] && *v[i] ? v[i] : NULL;
        r->len[i] = r->val[i] ? strlen(r->val[i]) : 0;
    }
}

/* The row standing for the decoder's rejects past UP_WIRE_MAX_REJECTS: how
 * many, and the first of them (m, at line). */
static int reject_summary(up_store_t *s, const char *where, uint64_t more, long line, const char *why)
{
    char reason[512];
    snprintf(reason, sizeof reason, "%llu more messages rejected: the first at line %ld, %.300s (at most %d"
             " rejects are kept one by one per request)", (unsigned long long)more, line, why, UP_WIRE_MAX_REJECTS);
    return up_store_reject(s, "http", where, line, "record", reason, "");
}

int up_ingest_batch(up_ingest_t *in, const up_wire_batch_t *b, const char *where, up_import_stats_t *st,
                    up_ingest_reject_fn on_reject, void *ctx)
{
    up_store_t *s = up_ingest_store(in);
    int rc = 0;
    uint64_t decoder_rejects = 0;
    size_t first_unkept = 0;
    /* the store's rejects get what the decoder's leave of the request's cap */
    size_t n_decoder = 0;
    for (size_t i = 0; i < b->n_msgs; i++)
        n_decoder += b->msgs[i].reject != NULL;
    up_ingest_reject_cap(in, n_decoder >= UP_WIRE_MAX_REJECTS ? 1 : UP_WIRE_MAX_REJECTS - n_decoder);
    for (size_t i = 0; i < b->n_msgs && rc == 0; i++) {
        const up_wire_msg_t *m = &b->msgs[i];
        if (m->reject) {
            /* the decoder's reject: the message never became a record */
            if (decoder_rejects++ < UP_WIRE_MAX_REJECTS)
                rc = up_store_reject(s, "http", where, (long)i + 1, m->reject_field, m->reject,
                                     m->record ? m->record : "");
            else if (decoder_rejects == UP_WIRE_MAX_REJECTS + 1)
                first_unkept = i;
            st->read++;
            st->rejected++;
            st->reject_field = m->reject_field ? m->reject_field : "record";
            if (on_reject)
                on_reject(ctx, m->reject_field);
            continue;
        }
        up_record_t r;
        char tsbuf[32], num[4][32];
        to_record(up_store_model(s), m, &r, tsbuf, sizeof tsbuf, num);
        r.line = (long)i + 1;
        up_import_stats_t one = {0};
        rc = up_ingest_message(in, &r, where, &one);
        st->read += one.read;
        st->stored += one.stored;
        st->duplicates += one.duplicates;
        st->rejected += one.rejected;
        st->identifies += one.identifies;
        st->groups += one.groups;
        if (one.rejected) {
            st->reject_field = one.reject_field;
            if (on_reject)
                on_reject(ctx, one.reject_field);
        }
    }
    if (rc == 0 && decoder_rejects > UP_WIRE_MAX_REJECTS) {
        char why[400];
        const up_wire_msg_t *m = &b->msgs[first_unkept];
        snprintf(why, sizeof why, "%s: %.300s", m->reject_field ? m->reject_field : "record", m->reject);
        rc = reject_summary(s, where, decoder_rejects - UP_WIRE_MAX_REJECTS, (long)first_unkept + 1, why);
    }
    long line;
    const char *why;
    uint64_t more = up_ingest_rejects_unkept(in, &line, &why);
    if (rc == 0 && more)
        rc = reject_summary(s, where, more, line, why);
    up_ingest_reject_cap(in, 0);
    return rc;
}
