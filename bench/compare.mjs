#!/usr/bin/env node
// Compares two report directories cell by cell: DIR/accounts.csv (key
// account_id), DIR/features.csv (key account_id, feature), DIR/users.csv
// (key account_id, user_id, feature) and DIR/stages.csv (key feature).
//
//   node bench/compare.mjs [--strict] [--numeric] [--names A,B] DIR_A DIR_B
//
// Columns are matched by the names in the header. By default only what both
// sides have is compared: accounts.csv and features.csv must exist on both
// sides, users.csv and stages.csv are compared when both sides have them, and
// a known column that only one side has (e.g. `level`, which the SQLite peer
// does not compute) is noted and skipped. With --strict every file and every
// column of lib.mjs's REPORTS must be on both sides, in that order.
// A column this script does not know, or a key column missing, is a problem
// either way.
//
// Cells are compared as strings first ("12" and "12.0" count as the same
// string: integral floats may print either way). Two numbers that differ as
// strings but parse to the same double are a *format* mismatch; anything
// else is a *value* mismatch. Missing/extra rows, a different header or a
// different row order are reported too. Prints the counts and the first 20
// mismatches; exits 1 on any mismatch (with --numeric, format mismatches
// are reported but do not fail), 0 otherwise.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsv, REPORTS } from './lib.mjs';

const argv = process.argv.slice(2);
let numeric = false, strict = false, names = ['A', 'B'];
const dirs = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--numeric') numeric = true;
  else if (argv[i] === '--strict') strict = true;
  else if (argv[i] === '--names') names = argv[++i].split(',');
  else dirs.push(argv[i]);
}
if (dirs.length !== 2) { console.error('usage: compare.mjs [--strict] [--numeric] [--names A,B] DIR_A DIR_B'); process.exit(2); }

const NUM = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const norm = (s) => s.replace(/^(-?\d+)\.0$/, '$1');
const problems = [], notes = [];
let cells = 0, valueMis = 0, formatMis = 0, rowMis = 0, other = 0;

// The account's own fields that `report accounts --format csv` carries after
// the metrics (name, segment, owner, arr, renewal_date): copied from the
// accounts table, not computed, so not compared; dropped when present.
const ACCOUNT_FIELDS = ['name', 'segment', 'owner', 'arr', 'renewal_date'];

function load(dir, file) {
  const p = join(dir, file);
  if (!existsSync(p)) return null;
  const rows = parseCsv(readFileSync(p, 'utf8'));
  if (file !== 'accounts.csv' || !rows.length) return rows;
  const keep = rows[0].map((h, i) => (ACCOUNT_FIELDS.includes(h) ? -1 : i)).filter((i) => i >= 0);
  return rows.map((r) => keep.map((i) => r[i]));
}

function compareFile(file, columns, nkey, required) {
  const a = load(dirs[0], file), b = load(dirs[1], file);
  if (!a || !b) {
    const msg = `${file}: missing in ${!a ? names[0] : names[1]}`;
    if (required) { other++; problems.push(msg); } else notes.push(`${msg}: not compared`);
    return;
  }
  const ha = a[0] ?? [], hb = b[0] ?? [];
  for (const [h, n] of [[ha, names[0]], [hb, names[1]]]) {
    const known = h.filter((c) => columns.includes(c));
    const inOrder = known.every((c, i) => i === 0 || columns.indexOf(c) > columns.indexOf(known[i - 1]));
    const keysOk = columns.slice(0, nkey).every((c, i) => h[i] === c);
    if (!keysOk || !inOrder || known.length !== h.length || new Set(h).size !== h.length ||
        (strict && h.join(',') !== columns.join(','))) {
      other++; problems.push(`${file}: ${n} header is "${h.join(',')}"`);
    }
  }
  const cols = [];  // [name, index in a, index in b]
  for (const c of columns.slice(nkey)) {
    const ia = ha.indexOf(c), ib = hb.indexOf(c);
    if (ia >= 0 && ib >= 0) cols.push([c, ia, ib]);
    else if (ia >= 0 || ib >= 0) notes.push(`${file}: column ${c} only in ${ia >= 0 ? names[0] : names[1]}: not compared`);
  }
  const key = (r) => r.slice(0, nkey).join('\u0001');
  const show = (k) => k.split('\u0001').join('/');
  for (const [t, n] of [[a, names[0]], [b, names[1]]]) {
    const seen = new Set();
    for (const r of t.slice(1)) {
      const k = key(r);
      if (seen.has(k)) { other++; problems.push(`${file}: ${show(k)}: row twice in ${n}`); }
      seen.add(k);
    }
  }
  const mb = new Map();
  for (const r of b.slice(1)) mb.set(key(r), r);
  const ma = new Set();
  const ka = [], kb = b.slice(1).map(key);
  for (const r of a.slice(1)) {
    const k = key(r);
    ka.push(k);
    ma.add(k);
    const rb = mb.get(k);
    if (!rb) { rowMis++; problems.push(`${file}: ${show(k)}: row only in ${names[0]}`); continue; }
    for (const [c, ia, ib] of cols) {
      cells++;
      const x = r[ia] ?? '', y = rb[ib] ?? '';
      if (x === y || norm(x) === norm(y)) continue;
      const fmt = NUM.test(x) && NUM.test(y) && Number(x) === Number(y);
      if (fmt) formatMis++; else valueMis++;
      problems.push(`${file}: ${show(k)}: ${c}: ${names[0]}=${JSON.stringify(x)} ${names[1]}=${JSON.stringify(y)}${fmt ? ' (format only)' : ''}`);
    }
  }
  for (const k of kb) if (!ma.has(k)) { rowMis++; problems.push(`${file}: ${show(k)}: row only in ${names[1]}`); }
  const common = new Set(ka.filter((k) => mb.has(k)));
  const oa = ka.filter((k) => common.has(k)), ob = kb.filter((k) => common.has(k));
  if (oa.join('\n') !== ob.join('\n')) { other++; problems.push(`${file}: rows are in a different order`); }
}

for (const r of REPORTS) compareFile(r.file, r.columns, r.nkey, strict || r.file === 'accounts.csv' || r.file === 'features.csv');
console.log(`compared ${cells} cells of ${names[0]} (${dirs[0]}) and ${names[1]} (${dirs[1]}): ` +
  `${valueMis} value mismatches, ${formatMis} format-only mismatches, ${rowMis} missing rows, ${other} other problems`);
for (const n of notes) console.log('  note: ' + n);
for (const p of problems.slice(0, 20)) console.log('  ' + p);
if (problems.length > 20) console.log(`  ... and ${problems.length - 20} more`);
const fail = valueMis + rowMis + other + (numeric ? 0 : formatMis);
process.exit(fail ? 1 : 0);
