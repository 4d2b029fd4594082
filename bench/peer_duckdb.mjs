#!/usr/bin/env node
// An independent implementation of the account metrics and feature adoption
// of the definitions in docs/metrics.md, in SQL run by DuckDB (@duckdb/node-api).
//
//   node bench/peer_duckdb.mjs --data DIR --model FILE --as-of YYYY-MM-DD --out DIR
//        [--db FILE] [--phase all|load|report] [--skip TABLE,...]
//
// DIR holds accounts.csv, users.csv, events.csv, surveys.csv (uptake demo's
// shapes) and optionally subscriptions.csv and outcomes.csv; a missing file
// is an empty table, and so is a file named in --skip (e.g. --skip
// subscriptions,outcomes when the other side did not import them). The load
// phase creates the tables in --db (default: in memory); the report phase
// opens --db, computes the reports and writes OUT/accounts.csv,
// OUT/features.csv, OUT/users.csv and OUT/stages.csv in the format of
// `uptake report accounts|features|users|stages --format csv`. The last line
// on stdout is JSON: {"import": seconds, "report": seconds, ...}.
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, modelSql, fmtCell, sqlStr, ACCOUNT_COLUMNS, FEATURE_COLUMNS, USER_COLUMNS, STAGE_COLUMNS } from './lib.mjs';
import { reportSql } from './metrics_sql.mjs';

function args(argv) {
  const o = { phase: 'all', db: ':memory:', skip: [] };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => { if (i + 1 >= argv.length) throw new Error(`${k} needs a value`); return argv[++i]; };
    if (k === '--data') o.data = v();
    else if (k === '--model') o.model = v();
    else if (k === '--as-of') o.asOf = v();
    else if (k === '--out') o.out = v();
    else if (k === '--db') o.db = v();
    else if (k === '--phase') o.phase = v();
    else if (k === '--skip') o.skip = v().split(',').map((x) => x.trim()).filter(Boolean);
    else if (k === '--backtest') o.backtest = v();
    else if (k === '--retention') o.retention = v();
    else throw new Error(`unknown argument ${k}`);
  }
  if (o.phase !== 'load' && !/^\d{4}-\d{2}-\d{2}$/.test(o.asOf ?? '')) throw new Error('--as-of YYYY-MM-DD is required');
  if ((o.phase === 'all' || o.phase === 'load') && !o.data) throw new Error('--data DIR is required');
  if ((o.phase === 'all' || o.phase === 'report') && (!o.model || !o.out)) throw new Error('--model FILE and --out DIR are required');
  if (o.phase !== 'all' && o.db === ':memory:') throw new Error('--phase load|report needs --db FILE');
  return o;
}

// A timestamp as the importer reads one: ISO-8601 with Z or an offset,
// "YYYY-MM-DD HH:MM:SS" (UTC), a plain date (00:00 UTC), epoch seconds, or
// epoch milliseconds (13 digits or more). The result is a UTC TIMESTAMP.
const TS_MACRO = `
CREATE OR REPLACE MACRO up_ts(s) AS
  CASE WHEN s IS NULL OR trim(s) = '' THEN NULL
       WHEN regexp_full_match(trim(s), '-?[0-9]{1,12}') THEN make_timestamp(CAST(trim(s) AS BIGINT) * 1000000)
       WHEN regexp_full_match(trim(s), '-?[0-9]{13,}') THEN make_timestamp(CAST(trim(s) AS BIGINT) * 1000)
       ELSE timezone('UTC', TRY_CAST(trim(s) AS TIMESTAMPTZ)) END;`;

async function columnsOf(con, file) {
  const r = await con.runAndReadAll(`DESCRIBE SELECT * FROM read_csv(${sqlStr(file)}, header = true, all_varchar = true)`);
  return r.getRowObjectsJS().map((x) => x.column_name);
}

const csv = (file) => `read_csv(${sqlStr(file)}, header = true, all_varchar = true, quote = '"', escape = '"')`;
const col = (cols, name, type = 'VARCHAR') => cols.includes(name) ? `"${name}"` : `CAST(NULL AS ${type})`;
const blank = (x) => `(${x} IS NULL OR ${x} = '')`;

async function load(con, dir, skip = []) {
  await con.run(`SET TimeZone = 'UTC'`);
  await con.run(TS_MACRO);
  const f = (n) => join(dir, n);
  const present = (n) => !skip.includes(n.replace(/\.csv$/, '')) && existsSync(f(n));
  // events: rows without ts, user_id, account_id or event, or with a ts that
  // does not parse, are rejected (not stored). Same message_id = one event,
  // the first in file order wins; without a message_id column nothing is merged.
  if (present('events.csv')) {
    const cols = await columnsOf(con, f('events.csv'));
    const body = `SELECT up_ts(ts) AS ts, user_id, account_id, event${cols.includes('message_id') ? ', message_id' : ''}
                  FROM ${csv(f('events.csv'))}
                  WHERE NOT ${blank('user_id')} AND NOT ${blank('account_id')} AND NOT ${blank('event')}`;
    if (cols.includes('message_id')) {
      await con.run(`CREATE OR REPLACE TEMP TABLE ev_raw AS SELECT * FROM (${body}) WHERE ts IS NOT NULL`);
      await con.run(`CREATE OR REPLACE TABLE events AS
        SELECT ts, user_id, account_id, event FROM (SELECT *, rowid AS rid FROM ev_raw) q
        QUALIFY message_id IS NULL OR message_id = ''
             OR row_number() OVER (PARTITION BY message_id ORDER BY rid) = 1`);
      await con.run('DROP TABLE ev_raw');
    } else {
      await con.run(`CREATE OR REPLACE TABLE events AS SELECT ts, user_id, account_id, event FROM (${body}) WHERE ts IS NOT NULL`);
    }
  } else {
    await con.run('CREATE OR REPLACE TABLE events(ts TIMESTAMP, user_id VARCHAR, account_id VARCHAR, event VARCHAR)');
  }
  // accounts: one row per account_id, the last in file order wins (an
  // import upserts). seats: an integer; missing or unreadable = 0.
  if (present('accounts.csv')) {
    const cols = await columnsOf(con, f('accounts.csv'));
    await con.run(`CREATE OR REPLACE TEMP TABLE acc_raw AS
      SELECT account_id, ${col(cols, 'seats')} AS seats, ${col(cols, 'contract_start')} AS contract_start,
             ${col(cols, 'churned_at')} AS churned_at, ${col(cols, 'arr')} AS arr
      FROM ${csv(f('accounts.csv'))} WHERE NOT ${blank('account_id')}`);
    await con.run(`CREATE OR REPLACE TABLE accounts AS
      SELECT account_id, COALESCE(TRY_CAST(trim(seats) AS BIGINT), 0) AS seats,
             CAST(up_ts(contract_start) AS DATE) AS contract_start,
             CAST(up_ts(churned_at) AS DATE) AS churned_at, TRY_CAST(trim(arr) AS DOUBLE) AS arr
      FROM (SELECT *, rowid AS rid FROM acc_raw) QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY rid DESC) = 1`);
    await con.run('DROP TABLE acc_raw');
  } else {
    await con.run('CREATE OR REPLACE TABLE accounts(account_id VARCHAR, seats BIGINT, contract_start DATE, churned_at DATE, arr DOUBLE)');
  }
  // users: one row per (account_id, user_id), the last in file order wins.
  if (present('users.csv')) {
    const cols = await columnsOf(con, f('users.csv'));
    await con.run(`CREATE OR REPLACE TEMP TABLE usr_raw AS
      SELECT account_id, user_id, ${col(cols, 'created_at')} AS created_at, ${col(cols, 'role')} AS role
      FROM ${csv(f('users.csv'))} WHERE NOT ${blank('account_id')} AND NOT ${blank('user_id')}`);
    await con.run(`CREATE OR REPLACE TABLE users AS
      SELECT account_id, user_id, up_ts(created_at) AS created_at, role
      FROM (SELECT *, rowid AS rid FROM usr_raw) QUALIFY row_number() OVER (PARTITION BY account_id, user_id ORDER BY rid DESC) = 1`);
    await con.run('DROP TABLE usr_raw');
  } else {
    await con.run('CREATE OR REPLACE TABLE users(account_id VARCHAR, user_id VARCHAR, created_at TIMESTAMP, role VARCHAR)');
  }
  // surveys: every row is an answer (no de-duplication).
  if (present('surveys.csv')) {
    const cols = await columnsOf(con, f('surveys.csv'));
    await con.run(`CREATE OR REPLACE TABLE surveys AS
      SELECT account_id, up_ts(${col(cols, 'ts')}) AS ts, ${col(cols, 'kind')} AS kind,
             TRY_CAST(trim(${col(cols, 'score')}) AS DOUBLE) AS score
      FROM ${csv(f('surveys.csv'))} WHERE NOT ${blank('account_id')}`);
  } else {
    await con.run('CREATE OR REPLACE TABLE surveys(account_id VARCHAR, ts TIMESTAMP, kind VARCHAR, score DOUBLE)');
  }
  // subscriptions: every row with an account_id is kept (rid = file order).
  // start/end: dates (00:00 UTC) or timestamps; an empty end is open.
  // seats: an integer; missing or unreadable = 0.
  if (present('subscriptions.csv')) {
    const cols = await columnsOf(con, f('subscriptions.csv'));
    await con.run(`CREATE OR REPLACE TEMP TABLE sub_raw AS
      SELECT account_id, ${col(cols, 'start')} AS s, ${col(cols, 'end')} AS e, ${col(cols, 'seats')} AS seats,
             ${col(cols, 'arr')} AS arr
      FROM ${csv(f('subscriptions.csv'))} WHERE NOT ${blank('account_id')}`);
    await con.run(`CREATE OR REPLACE TABLE subscriptions AS
      SELECT account_id, up_ts(s) AS start_ts, up_ts(e) AS end_ts,
             COALESCE(TRY_CAST(trim(seats) AS BIGINT), 0) AS seats, rowid AS rid, TRY_CAST(trim(arr) AS DOUBLE) AS arr
      FROM sub_raw`);
    await con.run('DROP TABLE sub_raw');
  } else {
    await con.run('CREATE OR REPLACE TABLE subscriptions(account_id VARCHAR, start_ts TIMESTAMP, end_ts TIMESTAMP, seats BIGINT, rid BIGINT, arr DOUBLE)');
  }
  // outcomes: rows without account_id, metric or a readable ts are dropped;
  // rid = file order (the last row wins a tie on ts). value/target: numbers,
  // empty = NULL; due: a date (00:00 UTC) or timestamp, empty = NULL.
  if (present('outcomes.csv')) {
    const cols = await columnsOf(con, f('outcomes.csv'));
    await con.run(`CREATE OR REPLACE TEMP TABLE out_raw AS
      SELECT account_id, ${col(cols, 'metric')} AS metric, ${col(cols, 'ts')} AS ts, ${col(cols, 'value')} AS value,
             ${col(cols, 'target')} AS target, ${col(cols, 'due')} AS due
      FROM ${csv(f('outcomes.csv'))} WHERE NOT ${blank('account_id')}`);
    await con.run(`CREATE OR REPLACE TABLE outcomes AS
      SELECT * FROM (
        SELECT account_id, metric, up_ts(ts) AS ts, TRY_CAST(trim(value) AS DOUBLE) AS value,
               TRY_CAST(trim(target) AS DOUBLE) AS target, up_ts(due) AS due, rowid AS rid
        FROM out_raw)
      WHERE NOT ${blank('metric')} AND ts IS NOT NULL`);
    await con.run('DROP TABLE out_raw');
  } else {
    await con.run('CREATE OR REPLACE TABLE outcomes(account_id VARCHAR, metric VARCHAR, ts TIMESTAMP, value DOUBLE, target DOUBLE, due TIMESTAMP, rid BIGINT)');
  }
  // churn: rows with a readable ts of an account in accounts.csv (uptake
  // rejects a churn of an account its accounts table does not list).
  if (present('churn.csv')) {
    const cols = await columnsOf(con, f('churn.csv'));
    await con.run(`CREATE OR REPLACE TABLE churns AS
      SELECT * FROM (SELECT account_id, up_ts(${col(cols, 'ts')}) AS ts FROM ${csv(f('churn.csv'))}
                     WHERE NOT ${blank('account_id')})
      WHERE ts IS NOT NULL AND account_id IN (SELECT account_id FROM accounts)`);
  } else {
    await con.run('CREATE OR REPLACE TABLE churns(account_id VARCHAR, ts TIMESTAMP)');
  }
  await con.run('CHECKPOINT');
}

async function writeReport(con, sql, columns, path) {
  const r = await con.runAndReadAll(sql);
  const names = r.columnNames();
  if (names.join(',') !== columns.join(',')) throw new Error(`internal: columns ${names} != ${columns}`);
  const lines = [columns.join(',')];
  for (const row of r.getRowsJS()) lines.push(row.map(fmtCell).join(','));
  writeFileSync(path, lines.join('\n') + '\n');
  return lines.length - 1;
}

// Every churn instant (ms) per account: churned_at at 00:00 of its day, and
// the churn rows.
async function churnTimes(con) {
  const ch = await con.runAndReadAll(`
    SELECT account_id, epoch_ms(CAST(churned_at AS TIMESTAMP)) FROM accounts WHERE churned_at IS NOT NULL
    UNION ALL SELECT account_id, epoch_ms(ts) FROM churns`);
  const churns = new Map();
  for (const [a, t] of ch.getRowsJS()) { if (!churns.has(a)) churns.set(a, []); churns.get(a).push(Number(t)); }
  return churns;
}

// The backtest of metrics.md ("Backtest"), independently: the month ends t
// with from <= t and t + horizon <= to; at each, the accounts whose status
// is customer in the accounts report as of t; churned when a churn
// (churned_at at 00:00 of its day, or a churn row) falls in (end of t, end of
// t + horizon]. AUC by brute force over every (churned, retained) pair.
const BT_SCORES = ['health', 'breadth', 'depth', 'stickiness', 'consistency', 'seats', 'mau', 'events_28d',
                   'intensity', 'level'];
function monthEnds(from, to, horizon) {
  const day = (s) => Date.UTC(+s.slice(0, 4), +s.slice(5, 7) - 1, +s.slice(8, 10)) / 86400000;
  const out = [];
  for (let y = +from.slice(0, 4), m = +from.slice(5, 7); ; m++) {
    if (m > 12) { m = 1; y++; }
    const t = Date.UTC(y, m, 1) / 86400000 - 1;   // the last day of month m
    if (t + horizon > day(to)) break;
    if (t >= day(from)) out.push(new Date(t * 86400000).toISOString().slice(0, 10));
  }
  return out;
}
async function backtest(con, m, spec, outDir) {
  const [from, to, h] = spec.split(',');
  const horizon = Number(h);
  const churns = await churnTimes(con);
  const rows = [];
  for (const t of monthEnds(from, to, horizon)) {
    const T = Date.UTC(+t.slice(0, 4), +t.slice(5, 7) - 1, +t.slice(8, 10)) + 86400000 - 1;
    const T1 = T + horizon * 86400000;
    const r = await con.runAndReadAll(reportSql(t, m.settings).accounts);
    const names = r.columnNames();
    for (const row of r.getRowsJS()) {
      const o = Object.fromEntries(names.map((n, i) => [n, row[i]]));
      if (o.status !== 'customer') continue;
      const churned = (churns.get(o.account_id) || []).some((c) => c > T && c <= T1);
      o.level = o.level === null ? null : { low: 0, high: 1, effective: 2 }[o.level];
      rows.push({ o, churned });
    }
  }
  const lines = ['score,auc,churned,retained,left_out'];
  for (const s of BT_SCORES) {
    const v = rows.filter((x) => x.o[s] !== null && x.o[s] !== undefined).map((x) => [Number(x.o[s]), x.churned]);
    const c = v.filter((x) => x[1]).map((x) => x[0]), k = v.filter((x) => !x[1]).map((x) => x[0]);
    let pairs = 0;
    for (const a of c) for (const b of k) pairs += a < b ? 1 : a === b ? 0.5 : 0;
    const auc = c.length && k.length ? pairs / (c.length * k.length) : null;
    lines.push([s, fmtCell(auc), c.length, k.length, rows.length - v.length].join(','));
  }
  writeFileSync(join(outDir, 'backtest.csv'), lines.join('\n') + '\n');
  return rows.length;
}

// Retention by level (metrics.md, "Retention by cohort"), independently: the
// customers at the end of day D by their level then; churned when a churn
// falls in (end of D, end of D + N]; ARR at a date is 0 unless a customer
// then, else the subscriptions active then (their arr) when the account has
// subscription rows, else accounts.arr (empty = 0).
async function retention(con, m, spec, outDir) {
  const [d, h] = spec.split(',');
  const horizon = Number(h);
  const endOf = (s) => Date.UTC(+s.slice(0, 4), +s.slice(5, 7) - 1, +s.slice(8, 10)) + 86400000 - 1;
  const T0 = endOf(d), T1 = T0 + horizon * 86400000;
  const d1 = new Date(T1).toISOString().slice(0, 10);
  const status = async (day) => {
    const r = await con.runAndReadAll(reportSql(day, m.settings).accounts);
    const names = r.columnNames();
    return r.getRowsJS().map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]])));
  };
  const at0 = await status(d), at1 = new Map((await status(d1)).map((o) => [o.account_id, o.status]));
  const subs = new Map();
  for (const [a, s0, e0, arr] of (await con.runAndReadAll(
    'SELECT account_id, epoch_ms(start_ts), epoch_ms(end_ts), arr FROM subscriptions ORDER BY account_id, rid')).getRowsJS()) {
    if (!subs.has(a)) subs.set(a, []);
    subs.get(a).push([s0 === null ? null : Number(s0), e0 === null ? null : Number(e0), arr]);
  }
  const accArr = new Map((await con.runAndReadAll('SELECT account_id, arr FROM accounts')).getRowsJS());
  const churns = await churnTimes(con);
  const arrAt = (a, T, st) => {
    if (st !== 'customer') return 0;
    if (subs.has(a)) {
      let x = 0;
      for (const [s0, e0, arr] of subs.get(a)) if (s0 !== null && s0 <= T && (e0 === null || T < e0) && arr !== null) x += arr;
      return x;
    }
    const v = accArr.get(a);
    return v === null || v === undefined ? 0 : v;
  };
  const groups = { low: [], high: [], effective: [] };
  for (const o of at0) if (o.status === 'customer') groups[o.level].push(o.account_id);
  const lines = ['group,accounts,churned,logo_retention,arr_start,arr_end,nrr,grr'];
  for (const g of ['low', 'high', 'effective']) {
    const ids = groups[g];
    if (!ids.length) continue;
    let churned = 0, a0 = 0, a1 = 0, kept = 0;
    for (const a of ids) {
      churned += (churns.get(a) || []).some((c) => c > T0 && c <= T1) ? 1 : 0;
      const x0 = arrAt(a, T0, 'customer'), x1 = arrAt(a, T1, at1.get(a));
      a0 += x0; a1 += x1; kept += Math.min(x0, x1);
    }
    lines.push([g, ids.length, churned, fmtCell(1 - churned / ids.length), fmtCell(a0), fmtCell(a1),
                fmtCell(a0 ? a1 / a0 : null), fmtCell(a0 ? kept / a0 : null)].join(','));
  }
  writeFileSync(join(outDir, 'retention.csv'), lines.join('\n') + '\n');
}

async function main() {
  const o = args(process.argv.slice(2));
  const res = {};
  if (o.phase === 'load' && o.db !== ':memory:') {
    for (const s of ['', '.wal']) rmSync(o.db + s, { force: true });
  }
  const inst = await DuckDBInstance.create(o.db);
  const con = await inst.connect();
  if (o.phase === 'all' || o.phase === 'load') {
    const t0 = performance.now();
    await load(con, o.data, o.skip);
    res.import = (performance.now() - t0) / 1000;
    const n = await con.runAndReadAll('SELECT COUNT(*) FROM events');
    res.events = Number(n.getRowsJS()[0][0]);
  }
  if (o.phase === 'all' || o.phase === 'report') {
    const m = loadModel(o.model);
    const t0 = performance.now();
    await con.run(`SET TimeZone = 'UTC'`);
    await con.run(modelSql(m).replaceAll('CREATE TABLE', 'CREATE TEMP TABLE'));
    const q = reportSql(o.asOf, m.settings);
    mkdirSync(o.out, { recursive: true });
    res.accounts = await writeReport(con, q.accounts, ACCOUNT_COLUMNS, join(o.out, 'accounts.csv'));
    res.features = await writeReport(con, q.features, FEATURE_COLUMNS, join(o.out, 'features.csv'));
    res.users = await writeReport(con, q.users, USER_COLUMNS, join(o.out, 'users.csv'));
    res.stages = await writeReport(con, q.stages, STAGE_COLUMNS, join(o.out, 'stages.csv'));
    if (o.backtest) res.backtest_rows = await backtest(con, m, o.backtest, o.out);
    if (o.retention) await retention(con, m, o.retention, o.out);
    res.report = (performance.now() - t0) / 1000;
  }
  con.closeSync?.();
  inst.closeSync?.();
  console.log(JSON.stringify(res));
}

main().catch((e) => { console.error(`peer_duckdb: ${e.message}`); process.exit(1); });
