// Load for tests/http/crash.sh: one round against `uptake serve`.
//
//   node crashload.mjs URL KEY STATE_DIR ROUND [CONC] [MAX_MS]
//
// CONC workers (keep-alive connections) send events until the server goes
// away (it is killed by the test) or MAX_MS passes. Each message has a unique
// messageId m-ROUND-N and its own user u-m-ROUND-N, so the users of
// `report users` are exactly the messages stored. Most requests are
// POST /v1/batch of 1..100 events (now and then 1,000); some are single
// events to POST /v1/track. Mixed in, like a real client's retries:
//   - requests left unanswered by the previous round (the kill cut them) are
//     sent again first, with the same ids;
//   - now and then a batch that was already acknowledged, in this round or an
//     earlier one (before a kill -9 and restart), is sent again: it must not
//     be stored a second time.
// Files in STATE_DIR (shared by the rounds):
//   sent      every id ever sent, one a line, written before its request
//   acked     every id of every request answered 200, one a line, written
//             synchronously after the answer and before the next request
//   pending.json  requests of this round that got no answer (retried next)
//   pool.json     up to 300 acknowledged requests kept for re-sending later
// Prints one line of counts on stdout. Exit 0, or 1 on an answer the test
// never expects (4xx: a test bug or a server bug), with the answer on stderr.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const [url, key, dir, round, concArg = '4', maxArg = '5000'] = process.argv.slice(2);
if (!dir) { console.error('usage: crashload.mjs URL KEY STATE_DIR ROUND [CONC] [MAX_MS]'); process.exit(2); }
const u = new URL(url);
const conc = Number(concArg);
const deadline = Date.now() + Number(maxArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
const auth = 'Basic ' + Buffer.from(key + ':').toString('base64');
const sentFd = fs.openSync(path.join(dir, 'sent'), 'a');
const ackFd = fs.openSync(path.join(dir, 'acked'), 'a');
const readJson = (f, d) => { try { return JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')); } catch { return d; } };
const retry = readJson('pending.json', []);        // [{path, ids}]
const pool = readJson('pool.json', []);            // acknowledged requests of earlier rounds
const pending = [];
const stats = { requests: 0, acked: 0, ackedEvents: 0, resent: 0, retried: 0, s503: 0, errors: 0 };
let next = 0, bad = null, serverGone = false;

function event(id) {
  // spread over three days and seven accounts; the user is the message
  const n = Number(id.slice(id.lastIndexOf('-') + 1)) || 0;
  const day = 18 + (n % 3), sec = n % 86400;
  const ts = `2026-11-${day}T${String(Math.floor(sec / 3600)).padStart(2, '0')}:` +
    `${String(Math.floor(sec / 60) % 60).padStart(2, '0')}:${String(sec % 60).padStart(2, '0')}.${String(n % 1000).padStart(3, '0')}Z`;
  return { type: 'track', userId: 'u-' + id, event: 'report.create', messageId: id, timestamp: ts,
    properties: { n }, context: { groupId: 'acct' + (n % 7) } };
}

function post(p, body) {
  return new Promise((resolve) => {
    const req = http.request({ host: u.hostname, port: u.port, path: p, method: 'POST', agent,
      headers: { authorization: auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      timeout: 3000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on('error', (e) => resolve({ status: 0, body: String(e) }));
    });
    req.on('error', (e) => resolve({ status: 0, body: e.code || String(e) }));
    req.on('timeout', () => { req.destroy(new Error('timeout')); });
    req.end(body);
  });
}

function fresh() {
  const r = Math.random();
  if (r < 0.1) return { path: '/v1/track', ids: [`m-${round}-${next++}`] };
  const n = r < 0.12 ? 1000 : 1 + Math.floor(Math.random() * 100);
  const ids = [];
  for (let i = 0; i < n; i++) ids.push(`m-${round}-${next++}`);
  return { path: '/v1/batch', ids };
}

async function send(reqd, kind) {
  const body = reqd.path === '/v1/track' ? JSON.stringify(event(reqd.ids[0]))
    : JSON.stringify({ batch: reqd.ids.map(event), sentAt: new Date().toISOString() });
  if (kind === 'fresh') fs.writeSync(sentFd, reqd.ids.join('\n') + '\n');
  stats.requests++;
  const res = await post(reqd.path, body);
  if (res.status === 200) {
    if (!/"success"\s*:\s*true/.test(res.body)) { bad = `200 without success for ${reqd.path}: ${res.body}`; return false; }
    fs.writeSync(ackFd, reqd.ids.join('\n') + '\n');   // before the next request of this worker
    stats.acked++; stats.ackedEvents += reqd.ids.length;
    if (kind === 'resend') stats.resent++;
    if (kind === 'retry') stats.retried++;
    if (pool.length < 300) pool.push(reqd); else if (Math.random() < 0.05) pool[Math.floor(Math.random() * 300)] = reqd;
    return true;
  }
  if (kind !== 'resend') pending.push(reqd);   // unanswered: a client would retry it
  if (res.status === 0) { stats.errors++; serverGone = true; return false; }
  if (res.status === 503 || res.status === 429) { stats.s503++; return true; }   // draining or busy: retry later
  bad = `unexpected ${res.status} for ${reqd.path} (${reqd.ids.length} events): ${res.body.slice(0, 300)}`;
  return false;
}

async function worker() {
  while (!bad && !serverGone && Date.now() < deadline) {
    let reqd = retry.pop(), kind = 'retry';
    if (!reqd) {
      if (pool.length && Math.random() < 0.08) { reqd = pool[Math.floor(Math.random() * pool.length)]; kind = 'resend'; }
      else { reqd = fresh(); kind = 'fresh'; }
    }
    if (!(await send(reqd, kind))) break;
  }
}

await Promise.all(Array.from({ length: conc }, worker));
agent.destroy();
pending.push(...retry);   // retries never sent stay pending
fs.writeFileSync(path.join(dir, 'pending.json'), JSON.stringify(pending));
fs.writeFileSync(path.join(dir, 'pool.json'), JSON.stringify(pool));
fs.closeSync(sentFd); fs.closeSync(ackFd);
console.log(`requests ${stats.requests} acked ${stats.acked} (${stats.ackedEvents} events; ${stats.resent} re-sends, ` +
  `${stats.retried} retries) unanswered ${pending.length} 503/429 ${stats.s503}`);
if (bad) { console.error('crashload: ' + bad); process.exit(1); }
