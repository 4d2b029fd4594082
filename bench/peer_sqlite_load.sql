-- SQLite peer, load phase: converts the raw CSV tables (imported by
-- peer_sqlite.sh into temp.*_raw with .import) into typed tables.
-- Timestamps become epoch seconds (fractions of a second are dropped) and
-- UTC day numbers. Rules as in peer_duckdb.mjs: rows missing a required
-- field or with an unreadable ts are rejected; accounts and users: the last
-- row of an id wins; events: one per message_id (first in file order).
-- unixepoch() reads ISO-8601 with Z or an offset, "YYYY-MM-DD HH:MM:SS" and
-- plain dates; all-digit values are epoch seconds (13+ digits: milliseconds).
CREATE TEMP VIEW ev_norm AS
  SELECT rowid AS rid, user_id, account_id, event,
         CASE WHEN ts GLOB '[0-9]*' AND ts NOT GLOB '*[^0-9]*'
              THEN CASE WHEN length(ts) >= 13 THEN CAST(ts AS INTEGER) / 1000 ELSE CAST(ts AS INTEGER) END
              ELSE unixepoch(ts) END AS t,
         __MSGID__ AS message_id
  FROM temp.ev_raw
  WHERE user_id <> '' AND account_id <> '' AND event <> '' AND ts IS NOT NULL AND ts <> '';

CREATE TABLE events(t INTEGER, d INTEGER, user_id TEXT, account_id TEXT, event TEXT);
INSERT INTO events
  SELECT t, CASE WHEN t >= 0 THEN t / 86400 ELSE (t - 86399) / 86400 END, user_id, account_id, event
  FROM ev_norm
  WHERE t IS NOT NULL
    AND (message_id IS NULL OR message_id = ''
         OR rid = (SELECT MIN(rid) FROM ev_norm x WHERE x.message_id = ev_norm.message_id AND x.t IS NOT NULL));

CREATE TABLE accounts(account_id TEXT PRIMARY KEY, seats INTEGER, cs INTEGER);
INSERT INTO accounts
  SELECT account_id,
         CASE WHEN trim(seats) GLOB '[0-9]*' AND trim(seats) NOT GLOB '*[^0-9]*' THEN CAST(trim(seats) AS INTEGER) ELSE 0 END,
         CASE WHEN contract_start IS NULL OR contract_start = '' THEN NULL
              ELSE unixepoch(contract_start, 'start of day') / 86400 END
  FROM temp.acc_raw a
  WHERE account_id <> '' AND rowid = (SELECT MAX(rowid) FROM temp.acc_raw b WHERE b.account_id = a.account_id);

CREATE TABLE users(account_id TEXT, user_id TEXT, created_at INTEGER, role TEXT, PRIMARY KEY(account_id, user_id));
INSERT INTO users
  SELECT account_id, user_id,
         CASE WHEN created_at IS NULL OR created_at = '' THEN NULL ELSE unixepoch(created_at) END, role
  FROM temp.usr_raw a
  WHERE account_id <> '' AND user_id <> ''
    AND rowid = (SELECT MAX(rowid) FROM temp.usr_raw b WHERE b.account_id = a.account_id AND b.user_id = a.user_id);

CREATE TABLE surveys(account_id TEXT, t INTEGER, kind TEXT, score REAL);
INSERT INTO surveys
  SELECT account_id, CASE WHEN ts IS NULL OR ts = '' THEN NULL ELSE unixepoch(ts) END, kind,
         CASE WHEN trim(score) = '' THEN NULL ELSE CAST(trim(score) AS REAL) END
  FROM temp.sur_raw WHERE account_id <> '';
