#!/usr/bin/env node
// Compares two report directories cell by cell: DIR/accounts.csv (key
// account_id) and DIR/features.csv (key account_id, feature).
//
//   node bench/compare.mjs [--numeric] [--names A,B] DIR_A DIR_B
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
import { parseCsv, ACCOUNT_COLUMNS, FEATURE_COLUMNS } from './lib.mjs';

const argv = process.argv.slice(2);
let numeric = false, names = ['A', 'B'];
const dirs = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--numeric') numeric = true;
  else if (argv[i] === '--names') names = argv[++i].split(',');
  else dirs.push(argv[i]);
}
if (dirs.length !== 2) { console.error('usage: compare.mjs [--numeric] [--names A,B] DIR_A DIR_B'); process.exit(2); }

const NUM = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const norm = (s) => s.replace(/^(-?\d+)\.0$/, '$1');
const problems = [];
let cells = 0, valueMis = 0, formatMis = 0, rowMis = 0, other = 0;

function load(dir, file) {
  const p = join(dir, file);
  if (!existsSync(p)) return null;
  return parseCsv(readFileSync(p, 'utf8'));
}

function compareFile(file, columns, nkey) {
  const a = load(dirs[0], file), b = load(dirs[1], file);
  if (!a || !b) { other++; problems.push(`${file}: missing in ${!a ? names[0] : names[1]}`); return; }
  for (const [t, n] of [[a, names[0]], [b, names[1]]]) {
    if ((t[0] ?? []).join(',') !== columns.join(',')) { other++; problems.push(`${file}: ${n} header is "${(t[0] ?? []).join(',')}"`); }
  }
  const key = (r) => r.slice(0, nkey).join('\u0001');
  const show = (k) => k.split('\u0001').join('/');
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
    for (let c = nkey; c < columns.length; c++) {
      cells++;
      const x = r[c] ?? '', y = rb[c] ?? '';
      if (x === y || norm(x) === norm(y)) continue;
      const fmt = NUM.test(x) && NUM.test(y) && Number(x) === Number(y);
      if (fmt) formatMis++; else valueMis++;
      problems.push(`${file}: ${show(k)}: ${columns[c]}: ${names[0]}=${JSON.stringify(x)} ${names[1]}=${JSON.stringify(y)}${fmt ? ' (format only)' : ''}`);
    }
  }
  for (const k of kb) if (!ma.has(k)) { rowMis++; problems.push(`${file}: ${show(k)}: row only in ${names[1]}`); }
  const common = new Set(ka.filter((k) => mb.has(k)));
  const oa = ka.filter((k) => common.has(k)), ob = kb.filter((k) => common.has(k));
  if (oa.join('\n') !== ob.join('\n')) { other++; problems.push(`${file}: rows are in a different order`); }
}

compareFile('accounts.csv', ACCOUNT_COLUMNS, 1);
compareFile('features.csv', FEATURE_COLUMNS, 2);
console.log(`compared ${cells} cells of ${names[0]} (${dirs[0]}) and ${names[1]} (${dirs[1]}): ` +
  `${valueMis} value mismatches, ${formatMis} format-only mismatches, ${rowMis} missing rows, ${other} other problems`);
for (const p of problems.slice(0, 20)) console.log('  ' + p);
if (problems.length > 20) console.log(`  ... and ${problems.length - 20} more`);
const fail = valueMis + rowMis + other + (numeric ? 0 : formatMis);
process.exit(fail ? 1 : 0);
