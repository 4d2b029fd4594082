// Load for the crash test: for DURATION ms, CONC connections each POST
// /v1/batch with BATCH events whose ids are unique (m-ROUND-N); every id
// whose request was answered 200 is appended to ACKED (one per line) before
// the next request. Now and then an acknowledged batch is sent again (it
// must be stored once). Errors (the server killed under us) are expected.
import http from 'node:http';
import fs from 'node:fs';

const [url, key, acked, round, duration, conc = '4', batch = '20'] = process.argv.slice(2);
const u = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(conc) });
const auth = 'Basic ' + Buffer.from(key + ':').toString('base64');
const end = Date.now() + Number(duration);
let next = 0;
const sent = [];

function post(body) {
  return new Promise((resolve) => {
    const req = http.request({ host: u.hostname, port: u.port, path: '/v1/batch', method: 'POST', agent,
      headers: { authorization: auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      timeout: 2000 }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', () => resolve(0));
    req.on('timeout', () => { req.destroy(); resolve(0); });
    req.end(body);
  });
}

function make(ids) {
  return JSON.stringify({ batch: ids.map((id) => ({ type: 'track', userId: 'u-' + id, event: 'report.create',
    messageId: id, timestamp: '2026-11-20T10:00:00Z', context: { groupId: 'acme' } })) });
}

async function worker() {
  while (Date.now() < end) {
    let ids;
    if (sent.length && Math.random() < 0.1) {
      ids = sent[Math.floor(Math.random() * sent.length)];   // a re-send of an acknowledged batch
    } else {
      ids = [];
      for (let i = 0; i < Number(batch); i++) ids.push(`m-${round}-${next++}`);
    }
    const status = await post(make(ids));
    if (status === 200) {
      fs.appendFileSync(acked, ids.join('\n') + '\n');
      sent.push(ids);
    } else if (status === 0) {
      await new Promise((r) => setTimeout(r, 20));   // refused: the server is down
    }
  }
}

await Promise.all(Array.from({ length: Number(conc) }, worker));
agent.destroy();
