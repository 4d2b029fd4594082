#!/usr/bin/env node
// Helper of peer_sqlite.sh.
//   node sqlite_helper.mjs prep MODEL AS_OF   SQL creating the model relations
//                                             and the CLI's .parameter lines
//   node sqlite_helper.mjs fmt FILE...        rewrites, in place, every float
//                                             cell (%!.17g) in the shortest
//                                             round-trip form of lib.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { loadModel, modelSql, parseCsv, fmtCell, fmtDouble } from './lib.mjs';

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'prep') {
  const [model, asOf] = rest;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf ?? '')) { console.error('sqlite_helper: prep MODEL YYYY-MM-DD'); process.exit(2); }
  const m = loadModel(model);
  const d0 = Date.UTC(+asOf.slice(0, 4), +asOf.slice(5, 7) - 1, +asOf.slice(8, 10)) / 86400000;
  const s = m.settings, w = s.weights;
  const lines = [modelSql(m, 'temp.').replace(/CREATE TABLE temp\./g, 'CREATE TEMP TABLE ').replace(/DROP TABLE IF EXISTS temp\./g, 'DROP TABLE IF EXISTS temp.')];
  const p = { d0, t: d0 * 86400 + 86399, a: s.activation_days, npsw: s.nps_window_days,
    pmin: s.nps_promoter_min, dmax: s.nps_detractor_max,
    w1: w.breadth, w2: w.depth, w3: w.stickiness, w4: w.consistency, w5: w.trend, w6: w.nps };
  for (const [k, v] of Object.entries(p)) {
    // integers stay integers; weights are forced to REAL
    lines.push(`.parameter set @${k} ${Number.isInteger(v) && !k.startsWith('w') ? String(v) : v.toExponential()}`);
  }
  console.log(lines.join('\n'));
} else if (cmd === 'fmt') {
  for (const f of rest) {
    const rows = parseCsv(readFileSync(f, 'utf8'));
    const out = rows.map((row, i) => row.map((c) => {
      if (i > 0 && /^-?\d+\.\d+(e[-+]\d+)?$/.test(c)) return fmtDouble(Number(c));
      return fmtCell(c);
    }).join(','));
    writeFileSync(f, out.join('\n') + '\n');
  }
} else {
  console.error('usage: sqlite_helper.mjs prep MODEL AS_OF | fmt FILE...');
  process.exit(2);
}
