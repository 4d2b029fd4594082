#!/bin/sh
# SQLite peer of bench/peer_duckdb.mjs, with Debian's sqlite3 CLI.
#   sh bench/peer_sqlite.sh load   DATA_DIR DB
#   sh bench/peer_sqlite.sh report DB MODEL AS_OF OUT_DIR
# load: .import of the four CSVs (a missing file is an empty table), then
# typed tables (peer_sqlite_load.sql). report: every column of `uptake report
# accounts` and `report features` (peer_sqlite_report.sql) into
# OUT_DIR/accounts.csv and OUT_DIR/features.csv, floats reformatted to the
# shortest round-trip form. Floats come out of SQLite through printf('%!.17g'),
# whose digits come from SQLite's own conversion, not the C library's.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
case $cmd in
load)
    data=$2 db=$3
    rm -f "$db" "$db-journal"
    msgid=NULL
    if [ -f "$data/events.csv" ] && head -n 1 "$data/events.csv" | tr -d '\r' | tr ',' '\n' | grep -qx message_id; then
        msgid=message_id
    fi
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    # an empty stand-in for each missing file: header only
    src() { # name header
        if [ -f "$data/$1" ]; then echo "$data/$1"; else printf '%s\n' "$2" > "$tmp/$1"; echo "$tmp/$1"; fi
    }
    addcols() { # file table column...
        f=$1 t=$2; shift 2
        for c in "$@"; do
            head -n 1 "$f" | tr -d '\r' | tr ',' '\n' | grep -qx "$c" || echo "ALTER TABLE temp.$t ADD COLUMN $c TEXT;"
        done
    }
    ev=$(src events.csv 'ts,user_id,account_id,event')
    ac=$(src accounts.csv 'account_id,seats,contract_start')
    us=$(src users.csv 'user_id,account_id,created_at,role')
    su=$(src surveys.csv 'account_id,user_id,ts,kind,score')
    {
        echo ".output /dev/null"
        echo "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE;"
        echo ".output stdout"
        echo ".import --csv --schema temp '$ev' ev_raw"
        echo ".import --csv --schema temp '$ac' acc_raw"
        echo ".import --csv --schema temp '$us' usr_raw"
        echo ".import --csv --schema temp '$su' sur_raw"
        # optional columns a file may lack
        addcols "$ac" acc_raw seats contract_start
        addcols "$us" usr_raw created_at role
        addcols "$su" sur_raw ts kind score
        if [ "$msgid" = message_id ]; then echo "CREATE INDEX temp.ev_raw_mid ON ev_raw(message_id);"; fi
        echo "BEGIN;"
        sed "s/__MSGID__/$msgid/" "$here/peer_sqlite_load.sql"
        echo "COMMIT;"
    } | sqlite3 -bail "$db"
    ;;
report)
    db=$2 model=$3 asof=$4 out=$5
    mkdir -p "$out"
    {
        echo "PRAGMA temp_store = MEMORY;"
        node "$here/sqlite_helper.mjs" prep "$model" "$asof"
        sed "s|__OUT__|$out|g" "$here/peer_sqlite_report.sql"
    } | sqlite3 -bail "$db"
    node "$here/sqlite_helper.mjs" fmt "$out/accounts.csv" "$out/features.csv"
    ;;
*)
    echo "usage: peer_sqlite.sh load DATA_DIR DB | report DB MODEL AS_OF OUT_DIR" >&2
    exit 2
    ;;
esac
