#!/usr/bin/env node
// Writes a small random data set aimed at the edges of metrics.md into DIR:
// timestamps on window boundaries (00:00:00.000 and 23:59:59.999), events after
// T, re-sent message ids, passive, exposure, advanced, unknown and key-action
// events (one key action passive), seats 0 and missing, accounts only in
// events, users only in events, users created after T, champions written
// " Champion ", events in another account than the user's, NPS answers on the
// window edge. For the adoption stages: a crowd of frequent users (so that
// regular and mastery are common and the top share of a feature's users is
// decided by ties), advanced events (one of them passive, hence no use), and
// settings (stage_regular_blocks, stage_mastery_top, level_*) that vary
// with the seed (seed 1 keeps the defaults). For seeds 2, 3, 5, 6 also
// subscriptions.csv (subscriptions starting or ending exactly at D0 00:00,
// D0+1 00:00 or T, overlapping ones, accounts with only ended ones) and for
// seeds 2, 4, 5, 6 outcomes.csv (value == target, pro-rated on track exactly
// at the boundary and one double below it, due < T, due == start, due
// missing, target missing on the latest row, several rows per metric with
// ties on ts, rows after T). The same seed gives the same files.
//
//   node tests/crosscheck/edge.mjs DIR SEED
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, seedArg] = process.argv.slice(2);
let state = BigInt(seedArg ?? 1) * 0x9e3779b97f4a7c15n + 1n;
function rnd() { // splitmix64 -> [0, 1)
  state = (state + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
  let z = state;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
  z ^= z >> 31n;
  return Number(z >> 11n) / 2 ** 53;
}
const pick = (a) => a[Math.floor(rnd() * a.length)];
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));

const D0 = Date.UTC(2026, 2, 31); // 2026-03-31, the as-of day the runner uses
const DAY = 86400000;
function instant(dayOffset) {
  const base = D0 + dayOffset * DAY;
  const r = rnd();
  if (r < 0.25) return base;                 // first instant of the day
  if (r < 0.45) return base + DAY - 1;       // last instant (ms)
  if (r < 0.55) return base + DAY - 1000;    // one second before the next day
  return base + Math.floor(rnd() * DAY);
}
const T = D0 + DAY - 1; // 2026-03-31T23:59:59.999Z
const iso = (ms) => new Date(ms).toISOString();
const date = (ms) => iso(ms).slice(0, 10);

const seedN = Number(seedArg ?? 1);
const settings = [];
if (seedN !== 1) {
  settings.push(`  stage_regular_blocks: ${pick([1, 2, 3, 3, 4])}`);
  settings.push(`  stage_mastery_top: ${pick(['0.1', '0.2', '0.25', '0.5', '1', '0.05'])}`);
  settings.push(`  level_breadth_min: ${pick(['0.4', '0.25', '0.8', '0', '0.5'])}`);
  settings.push(`  level_depth_min: ${pick(['0.3', '0.5', '0', '1', '0.3'])}`);
}
const model = `features:
  - name: alpha
    core: true
    events: [a.use, a.edit]
    advanced_events: [a.pro]
    exposure_events: [a.tour]
  - name: beta
    core: true
    events: [b.use, shared.evt]
    advanced_events: [b.pro, page_view]
  - name: gamma
    events: [g.use, shared.evt]
    exposure_events: [g.promo]
  - name: delta
    events: [d.use]
passive_events: [login, page_view, a.edit]
key_actions: [key.act, login]
${settings.length ? 'settings:\n' + settings.join('\n') + '\n' : ''}`;
const events = ['a.use', 'a.edit', 'a.pro', 'a.tour', 'b.use', 'b.pro', 'shared.evt', 'g.use', 'g.promo',
  'login', 'page_view', 'key.act', 'unknown.evt', 'd.use'];

const accounts = [];
const nAcc = int(4, 8);
for (let i = 0; i < nAcc; i++) {
  const id = `A${i}`;
  const inTable = rnd() < 0.8;
  const seats = pick(['0', '1', '3', '5', '12', '']);
  const cs = rnd() < 0.7 ? date(D0 + int(-120, 10) * DAY) : '';
  accounts.push({ id, inTable, seats, cs });
}
const users = [];
const nUsers = int(10, 30);
for (let i = 0; i < nUsers; i++) {
  const acc = pick(accounts).id;
  const r = rnd();
  const created = r < 0.15 ? '' : iso(instant(int(-60, 5)));
  const role = pick(['champion', ' Champion ', 'user', 'user', 'sponsor', '']);
  const inTable = rnd() < 0.8;
  users.push({ id: `u${i}`, acc, created, role, inTable });
}
const ev = [];
const nEv = int(300, 900);
const mids = [];
for (let i = 0; i < nEv; i++) {
  const u = pick(users);
  const acc = rnd() < 0.9 ? u.acc : pick(accounts).id;
  const ts = instant(int(-95, 2));
  let mid = '';
  if (rnd() < 0.6) {
    mid = rnd() < 0.2 && mids.length ? pick(mids) : `m${i}`;
    mids.push(mid);
  }
  ev.push([iso(ts), u.id, acc, pick(events), mid]);
}
// The crowd: frequent users of the last five weeks, each with its own rate
// per feature, so that days used in window(28) spread out and tie.
const nCrowd = int(8, 40);
for (let i = 0; i < nCrowd; i++) {
  const acc = pick(accounts).id;
  const u = { id: `c${i}`, acc, created: rnd() < 0.5 ? '' : iso(instant(int(-90, -30))), role: 'user', inTable: rnd() < 0.7 };
  users.push(u);
  const rates = ['a.use', 'b.use', 'g.use', 'shared.evt', 'd.use'].map((e) => [e, pick([0, 0.05, 0.15, 0.3, 0.5, 0.8, 1])]);
  for (let d = -34; d <= 1; d++) {
    for (const [e, p] of rates) if (rnd() < p) ev.push([iso(instant(d)), u.id, acc, e, rnd() < 0.5 ? `c${i}.${d}.${e}` : '']);
  }
  if (rnd() < 0.3) ev.push([iso(instant(int(-27, 0))), u.id, acc, pick(['a.pro', 'b.pro', 'page_view', 'a.tour']), '']);
}
const surveys = [];
for (let i = 0; i < int(5, 40); i++) {
  const u = pick(users);
  const kind = pick(['nps', 'nps', 'NPS', 'csat']);
  const score = kind === 'csat' ? int(1, 5) : int(0, 10);
  surveys.push([u.acc, u.id, iso(instant(int(-95, 1))), kind, score]);
}

mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'model.yaml'), model);
writeFileSync(join(dir, 'accounts.csv'), 'account_id,name,seats,contract_start\n' +
  accounts.filter((a) => a.inTable).map((a) => `${a.id},Account ${a.id},${a.seats},${a.cs}`).join('\n') + '\n');
writeFileSync(join(dir, 'users.csv'), 'user_id,account_id,created_at,role\n' +
  users.filter((u) => u.inTable).map((u) => `${u.id},${u.acc},${u.created},${u.role.includes(' ') ? `"${u.role}"` : u.role}`).join('\n') + '\n');
writeFileSync(join(dir, 'events.csv'), 'ts,user_id,account_id,event,message_id\n' + ev.map((r) => r.join(',')).join('\n') + '\n');
writeFileSync(join(dir, 'surveys.csv'), 'account_id,user_id,ts,kind,score\n' + surveys.map((r) => r.join(',')).join('\n') + '\n');

// ---- subscriptions (seeds 2, 3, 5, 6) ----------------------------------
if ([2, 3, 5, 6].includes(seedN)) {
  const D = (k) => date(D0 + k * DAY);          // a date: 00:00 UTC of D0 + k
  const ts = (ms) => iso(ms);                   // an ISO timestamp
  const kinds = [
    () => [[D(-60), '', 10]],                             // open
    () => [[D(0), '', 4]],                                // starts at D0 00:00 (active)
    () => [[ts(D0 + DAY), '', 6], [D(-90), D(-10), 2]],   // starts at D0+1 (not yet) + ended
    () => [[D(-40), D(0), 7]],                            // ends at D0 00:00 (not active)
    () => [[D(-40), ts(D0 + DAY), 8]],                    // ends at D0+1 00:00 (active)
    () => [[ts(T), '', 3]],                               // starts at T exactly (active)
    () => [[D(-40), ts(T), 9]],                           // ends at T exactly (not active)
    () => [[D(-50), '', 5], [D(-20), D(20), 3], [D(-5), ts(D0 + DAY), 1]], // overlapping
    () => [[D(-120), D(-60), 20], [D(-60), D(-1), 25]],   // only ended: seats 0
    () => [[D(-30), D(1), 0], [D(-31), D(2), 2]],         // a 0-seat row among others
    () => [],                                             // none: keeps the accounts-table seats
  ];
  const rows = [];
  for (const a of accounts.filter((x) => x.inTable)) {
    for (const [st, en, seats] of pick(kinds)()) rows.push([a.id, st, en, seats, seats * 1200]);
  }
  writeFileSync(join(dir, 'subscriptions.csv'), 'account_id,start,end,seats,arr\n' +
    rows.map((r) => r.join(',')).join('\n') + (rows.length ? '\n' : ''));
}

// ---- outcomes (seeds 2, 4, 5, 6) -----------------------------------------
if ([2, 4, 5, 6].includes(seedN)) {
  const rows = [];
  const ts = (ms) => (ms % DAY === 0 && rnd() < 0.5 ? date(ms) : iso(ms));
  // on-track threshold, computed as metrics.md orders it (in doubles)
  const need = (target, start, due) => (target * (T - start)) / (due - start);
  const below = (x) => { // the largest double below x (x > 0)
    const b = new Float64Array([x]); const u = new BigUint64Array(b.buffer); u[0] -= 1n; return b[0];
  };
  const cases = [
    (m) => { const t = int(1, 500); rows.push([m, ts(D0 - 20 * DAY), t, t, '']); },                    // value == target
    (m) => { const t = int(1, 500); rows.push([m, ts(D0 - 20 * DAY), t - 1, t, ts(D0 - 2 * DAY)]); },  // due < T, below
    (m) => { const t = int(2, 500); rows.push([m, ts(D0 - 10 * DAY), t - 1, t, '']); },                // due missing, below
    (m) => { rows.push([m, ts(D0 - 10 * DAY), 5, 3, '']); rows.push([m, ts(D0 - 3 * DAY), 1, '', ts(D0 + 9 * DAY)]); }, // latest has no target
    (m) => {                                                                                           // pro-rated, exactly on the boundary
      const start = D0 - int(5, 40) * DAY, due = pick([start + 2 * (T - start), D0 + int(1, 30) * DAY]);
      const t = pick([100, 37, 1000, 3.5]); const v = need(t, start, due);
      rows.push([m, ts(start), 0, t * 2, '']);
      rows.push([m, ts(D0 - int(0, 4) * DAY), String(v), t, ts(due)]);
    },
    (m) => {                                                                                           // one double below the boundary
      const start = D0 - int(5, 40) * DAY, due = D0 + int(1, 30) * DAY;
      const t = pick([100, 37, 1000, 3.5]); const v = below(need(t, start, due));
      rows.push([m, ts(start), 0, t, '']);
      rows.push([m, iso(T), String(v), t, ts(due)]);
    },
    (m) => { rows.push([m, ts(D0 - 5 * DAY), 1, 10, ts(D0 - 5 * DAY)]); },                             // due == start
    (m) => {                                                                                           // tie on ts: the last row in file order wins
      const at = iso(D0 - 4 * DAY + 3600000);
      const good = rnd() < 0.5;
      rows.push([m, at, good ? 1 : 50, 50, '']);
      rows.push([m, at, good ? 50 : 1, 50, '']);
    },
    (m) => {                                                                                           // several rows, a later row after T
      rows.push([m, ts(D0 - 30 * DAY), 2, 10, ts(D0 + 30 * DAY)]);
      rows.push([m, ts(D0 - 1 * DAY), 10, 10, '']);
      rows.push([m, iso(T + 1), 0, 10, '']);                                                           // after T (counts as of 04-01)
    },
    (m) => { rows.push([m, iso(T + int(1, 5) * DAY), 10, 10, '']); },                                  // only after T
    (m) => { rows.push([m, ts(D0 - 3 * DAY), 7, '', '']); },                                           // no target at all
  ];
  // on-track cases (value == target, exactly on the boundary, the tie, the
  // latest of several rows) weigh more, so that some accounts are effective
  const weighted = [...cases, cases[0], cases[0], cases[4], cases[4], cases[7], cases[8]];
  for (const a of accounts) {
    const n = pick([0, 1, 1, 1, 2, 2, 3]);
    for (let k = 0; k < n; k++) {
      const before = rows.length;
      pick(weighted)(`metric${k}`);
      for (let i = before; i < rows.length; i++) rows[i] = [a.id, ...rows[i]];
    }
  }
  writeFileSync(join(dir, 'outcomes.csv'), 'account_id,metric,ts,value,target,due\n' +
    rows.map((r) => r.join(',')).join('\n') + (rows.length ? '\n' : ''));
}
