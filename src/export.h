/* export: an embedded store's events moved into ClickHouse, as a new store
 * (docs/scale-out.md, "Moving a store"). The source is only read. */
#ifndef UP_EXPORT_H
#define UP_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "store_ch.h"

/* Makes out_dir (which must not exist) a ClickHouse store: a copy of src's
 * uptake.db (model, CRM tables, keys, imports) with the engine settings of
 * conf (as for `uptake init --engine clickhouse`),
 * the schema created on every shard, then every event of src's log sent
 * in batches. Each row carries a message id derived from src's path and
 * its place in the log, so that an export run again after a failure stores
 * each event once. Progress lines go to progress (may be NULL). Returns 0
 * with *events set, or a negative UP_E* code with the message in err. */
int up_export_clickhouse(const char *src_dir, const char *out_dir, const up_ch_conf_t *conf, FILE *progress,
                         uint64_t *events, char *err, size_t errlen);

#endif
