#!/usr/bin/env node
// Writes a small random data set aimed at the edges of metrics.md into DIR:
// timestamps on window boundaries (00:00:00.000 and 23:59:59.999), events after
// T, re-sent message ids, passive, exposure, advanced, unknown and key-action
// events (one key action passive), seats 0 and missing, accounts only in
// events, users only in events, users created after T, champions written
// " Champion ", events in another account than the user's, NPS answers on the
// window edge. The same seed gives the same files.
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
const iso = (ms) => new Date(ms).toISOString();
const date = (ms) => iso(ms).slice(0, 10);

const model = `features:
  - name: alpha
    core: true
    events: [a.use, a.edit]
    advanced_events: [a.pro]
    exposure_events: [a.tour]
  - name: beta
    core: true
    events: [b.use, shared.evt]
  - name: gamma
    events: [g.use, shared.evt]
    exposure_events: [g.promo]
passive_events: [login, page_view, a.edit]
key_actions: [key.act, login]
`;
const events = ['a.use', 'a.edit', 'a.pro', 'a.tour', 'b.use', 'shared.evt', 'g.use', 'g.promo',
  'login', 'page_view', 'key.act', 'unknown.evt'];

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
