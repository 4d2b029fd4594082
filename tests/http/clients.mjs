// Drives the four real client libraries (exact versions in package.json)
// against a running `uptake serve`. Starts nothing itself; run.sh starts the
// server and checks what was stored.
//
//   node clients.mjs URL WRITE_KEY [segment|rudder|posthog|mixpanel|retry ...]
//   (or UPTAKE_URL / UPTAKE_WRITE_KEY in the environment)
//
// Every client tells the same story, with its own account and users
// (P = seg, rs, ph, mp; account P-acct, users P-u1, P-u2, P-u3):
//   phase A  identify P-u1 {role: champion, createdAt: 2026-03-02T10:00:00Z}
//            group P-acct {name, seats: 5, contractStart: 2026-03-01}
//            (Segment/Rudder: group P-u1 and P-u2 -> P-acct; PostHog:
//            groupIdentify; Mixpanel: people.set + groups.set)
//   phase B  six events, flushed in two batches (flushAt 3):
//            P-u1 report.create 2026-03-31T12:00Z (Segment/Rudder: no
//                 context.groupId, the account comes from the group call)
//            P-u2 dashboard.view 2026-03-30T12:00Z
//            P-u1 page 2026-03-24T12:00Z  (page_view: passive in the demo model)
//            P-u1 report.share 2026-03-12T12:00Z (a key action)
//            P-u2 export.csv 2026-03-25T12:00Z with the fixed id P-dup-1
//            P-u3 alert.create 2026-03-20T12:00Z
//   phase C  P-u2 export.csv again with the same id P-dup-1 (a client retry):
//            must not be stored a second time
// Then `retry` (see below): a lost answer, retried by the real clients.
// Exits non-zero when any client reports a delivery error.
import { Analytics as Segment } from '@segment/analytics-node';
import { PostHog } from 'posthog-node';
import Rudder from '@rudderstack/rudder-sdk-node';
import Mixpanel from 'mixpanel';
import { randomUUID } from 'node:crypto';

const url = (process.argv[2] || process.env.UPTAKE_URL || '').replace(/\/$/, '');
const key = process.argv[3] || process.env.UPTAKE_WRITE_KEY;
if (!url || !key) {
    console.error('usage: node clients.mjs URL WRITE_KEY [client...]');
    process.exit(2);
}
const which = process.argv.slice(4).length ? process.argv.slice(4) : ['segment', 'rudder', 'posthog', 'mixpanel', 'retry'];
const errors = [];
const T = (s) => new Date(s);
const CREATED = '2026-03-02T10:00:00Z';

function story(p) {
    return {
        acct: `${p}-acct`,
        traits: { name: `${p} Corp`, seats: 5, contractStart: '2026-03-01' },
        u1traits: { role: 'champion', createdAt: CREATED },
        events: [
            { user: `${p}-u1`, event: 'report.create', at: T('2026-03-31T12:00:00Z'), noGroup: true },
            { user: `${p}-u2`, event: 'dashboard.view', at: T('2026-03-30T12:00:00Z') },
            { user: `${p}-u1`, page: 'Home', at: T('2026-03-24T12:00:00Z') },
            { user: `${p}-u1`, event: 'report.share', at: T('2026-03-12T12:00:00Z') },
            { user: `${p}-u2`, event: 'export.csv', at: T('2026-03-25T12:00:00Z'), id: `${p}-dup-1` },
            { user: `${p}-u3`, event: 'alert.create', at: T('2026-03-20T12:00:00Z') },
        ],
    };
}

// ---- Segment -------------------------------------------------------------
async function segment() {
    const s = story('seg');
    const a = new Segment({ writeKey: key, host: url, flushAt: 3, flushInterval: 60000, maxRetries: 2 });
    a.on('error', (e) => errors.push(`segment: ${e.reason?.message || e.code || e}`));
    const cb = (f) => new Promise((res) => f((err) => { if (err) errors.push(`segment: ${err.message || err}`); res(); }));
    await Promise.all([
        cb((d) => a.identify({ userId: 'seg-u1', traits: s.u1traits, timestamp: T('2026-03-02T10:00:00Z') }, d)),
        cb((d) => a.group({ userId: 'seg-u1', groupId: s.acct, traits: s.traits }, d)),
        cb((d) => a.group({ userId: 'seg-u2', groupId: s.acct, traits: {} }, d)),
    ]);
    await Promise.all(s.events.map((e) => cb((d) => {
        const ctx = e.noGroup ? {} : { context: { groupId: s.acct } };
        const id = e.id ? { messageId: e.id } : {};
        if (e.page)
            a.page({ userId: e.user, name: e.page, timestamp: e.at, ...ctx, ...id }, d);
        else
            a.track({ userId: e.user, event: e.event, timestamp: e.at, ...ctx, ...id }, d);
    })));
    await a.closeAndFlush({ timeout: 15000 });
    // The retry comes from a second client (a restarted process): one client
    // refuses to enqueue a messageId it has already seen, so the callback of a
    // second track with the same id on `a` would never be called.
    const b = new Segment({ writeKey: key, host: url, flushAt: 3, flushInterval: 60000, maxRetries: 2 });
    b.on('error', (e) => errors.push(`segment: ${e.reason?.message || e.code || e}`));
    const dup = s.events[4];
    const p = cb((d) => b.track({ userId: dup.user, event: dup.event, timestamp: dup.at, context: { groupId: s.acct },
        messageId: dup.id }, d));
    await b.closeAndFlush({ timeout: 15000 });
    await p;
}

// ---- RudderStack -----------------------------------------------------------
async function rudder() {
    const s = story('rs');
    const a = new Rudder(key, {
        dataPlaneUrl: url, flushAt: 3, flushInterval: 60000, retryCount: 1, logLevel: 'error',
        // without it, a final failure is an unhandled rejection that exits the process
        errorHandler: (err) => errors.push(`rudder: ${err.message || err}`),
    });
    const cb = (f) => new Promise((res) => f((err) => { if (err) errors.push(`rudder: ${err.message || err}`); res(); }));
    const drain = async () => {
        for (let i = 0; i < 20 && a.queue.length; i++)
            await new Promise((res) => a.flush(() => res()));
    };
    let pending = [
        cb((d) => a.identify({ userId: 'rs-u1', traits: s.u1traits, timestamp: T('2026-03-02T10:00:00Z') }, d)),
        cb((d) => a.group({ userId: 'rs-u1', groupId: s.acct, traits: s.traits }, d)),
        cb((d) => a.group({ userId: 'rs-u2', groupId: s.acct, traits: {} }, d)),
    ];
    await drain();
    await Promise.all(pending);
    pending = s.events.map((e) => cb((d) => {
        const ctx = e.noGroup ? {} : { context: { groupId: s.acct } };
        const id = e.id ? { messageId: e.id } : {};
        if (e.page)
            a.page({ userId: e.user, name: e.page, timestamp: e.at, ...ctx, ...id }, d);
        else
            a.track({ userId: e.user, event: e.event, timestamp: e.at, ...ctx, ...id }, d);
    }));
    await drain();
    await Promise.all(pending);
    const dup = s.events[4];
    pending = [cb((d) => a.track({ userId: dup.user, event: dup.event, timestamp: dup.at, context: { groupId: s.acct },
        messageId: dup.id }, d))];
    await drain();
    await Promise.all(pending);
}

// ---- PostHog ---------------------------------------------------------------
async function posthog() {
    const s = story('ph');
    // the dedup id of PostHog is the event uuid
    const dupUuid = randomUUID();
    const ph = new PostHog(key, { host: url, flushAt: 3, flushInterval: 60000, fetchRetryCount: 1, fetchRetryDelay: 200 });
    ph.on('error', (e) => errors.push(`posthog: ${e?.message || e}`));
    const flush = async () => { try { await ph.flush(); } catch (e) { errors.push(`posthog: ${e.message || e}`); } };
    ph.identify({ distinctId: 'ph-u1', properties: s.u1traits });
    ph.groupIdentify({ groupType: 'company', groupKey: s.acct, properties: s.traits });
    await flush();
    for (const e of s.events)
        ph.capture({
            distinctId: e.user, event: e.page ? 'page_view' : e.event, timestamp: e.at,
            groups: { company: s.acct }, properties: e.page ? { $current_url: '/home' } : {},
            ...(e.id ? { uuid: dupUuid } : {}),
        });
    await flush();
    const dup = s.events[4];
    ph.capture({ distinctId: dup.user, event: dup.event, timestamp: dup.at, groups: { company: s.acct }, uuid: dupUuid });
    await flush();
    await ph.shutdown(15000);
}

// ---- Mixpanel --------------------------------------------------------------
async function mixpanel() {
    const s = story('mp');
    const u = new URL(url);
    const mp = Mixpanel.init(key, { host: u.host, protocol: u.protocol.replace(':', ''), keepAlive: false });
    const cb = (what) => (err) => { if (err) errors.push(`mixpanel ${what}: ${err.message || err}`); };
    const call = (what, f) => new Promise((res) => f((err) => { cb(what)(err); res(); }));
    await call('people.set', (d) => mp.people.set('mp-u1', s.u1traits, d));
    await call('groups.set', (d) => mp.groups.set('company', s.acct, s.traits, d));
    // two track() calls (GET /track) and a track_batch (POST /track, data= in the body)
    const ev = s.events.map((e) => ({
        event: e.page ? 'page_view' : e.event,
        properties: { distinct_id: e.user, company: s.acct, time: e.at, ...(e.id ? { $insert_id: e.id } : {}) },
    }));
    await call('track', (d) => mp.track(ev[0].event, ev[0].properties, d));
    await call('track', (d) => mp.track(ev[1].event, ev[1].properties, d));
    await call('track_batch', (d) => mp.track_batch(ev.slice(2), d));
    await call('track dup', (d) => mp.track(ev[4].event, { ...ev[4].properties }, d));
}

// ---- A lost answer: the server stored the batch, the client saw a 503 ----
// A loopback proxy (127.0.0.1, port 0) forwards every request to uptake but
// answers the first one of each client 503 whatever uptake said; Segment,
// Rudder and PostHog retry 5xx with the same messageId / uuid, so uptake sees
// the batch twice and must store it once. Each sends one event,
// P-u1 report.view 2026-03-31T13:00Z (a day and feature P-u1 already has).
import http from 'node:http';
async function retry() {
    const seen = {};
    const proxy = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            const fam = /posthog/i.test(req.headers['user-agent'] || '') ? 'posthog'
                : /analytics-node-next/.test(req.headers['user-agent'] || '') ? 'segment' : 'rudder';
            seen[fam] = (seen[fam] || 0) + 1;
            const headers = { ...req.headers };
            delete headers.host;
            const up = http.request(`${url}${req.url}`, { method: req.method, headers }, (ur) => {
                const body = [];
                ur.on('data', (c) => body.push(c));
                ur.on('end', () => {
                    if (seen[fam] === 1) {
                        res.writeHead(503, { 'Content-Type': 'application/json' });
                        res.end('{"error":"lost answer (test proxy)"}');
                    } else {
                        res.writeHead(ur.statusCode, ur.headers);
                        res.end(Buffer.concat(body));
                    }
                });
            });
            up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
            up.end(Buffer.concat(chunks));
        });
    });
    await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
    const purl = `http://127.0.0.1:${proxy.address().port}`;
    const at = T('2026-03-31T13:00:00Z');
    try {
        const seg = new Segment({ writeKey: key, host: purl, flushAt: 1, maxRetries: 3 });
        seg.on('error', (e) => errors.push(`retry segment: ${e.reason?.message || e.code || e}`));
        seg.track({ userId: 'seg-u1', event: 'report.view', timestamp: at, context: { groupId: 'seg-acct' } });
        await seg.closeAndFlush({ timeout: 20000 });
        const rs = new Rudder(key, { dataPlaneUrl: purl, flushAt: 1, retryCount: 3, logLevel: 'error',
            errorHandler: (err) => errors.push(`retry rudder: ${err.message || err}`) });
        await new Promise((r) => rs.track({ userId: 'rs-u1', event: 'report.view', timestamp: at,
            context: { groupId: 'rs-acct' } }, (err) => { if (err) errors.push(`retry rudder: ${err.message || err}`); r(); }));
        const ph = new PostHog(key, { host: purl, flushAt: 1, fetchRetryCount: 3, fetchRetryDelay: 300 });
        ph.capture({ distinctId: 'ph-u1', event: 'report.view', timestamp: at, groups: { company: 'ph-acct' } });
        try { await ph.flush(); } catch (e) { errors.push(`retry posthog: ${e.message || e}`); }
        await ph.shutdown(10000);
    } finally {
        proxy.close();
        proxy.closeAllConnections?.();
    }
    // run.sh checks these: each client sent its batch at least twice
    console.log(`retry attempts: segment ${seen.segment || 0}, rudder ${seen.rudder || 0}, posthog ${seen.posthog || 0}`);
    for (const f of ['segment', 'rudder', 'posthog'])
        if (!(seen[f] >= 2))
            errors.push(`retry: ${f} sent ${seen[f] || 0} request(s), expected a retry after the 503`);
}

const run = { segment, rudder, posthog, mixpanel, retry };
// a client that never calls back must not hang the suite
const bounded = (name, pr) => Promise.race([pr, new Promise((_, rej) => setTimeout(
    () => rej(new Error(`${name}: not done after 45 s`)), 45000).unref())]);
for (const c of which) {
    if (!run[c]) {
        console.error(`unknown client ${c}`);
        process.exit(2);
    }
    const before = errors.length;
    try {
        await bounded(c, run[c]());
    } catch (e) {
        errors.push(e.message || String(e));
    }
    console.log(`${c}: sent${errors.length > before ? ` with ${errors.length - before} error(s)` : ''}`);
}
for (const e of errors)
    console.error(e);
process.exit(errors.length ? 1 : 0);   // open sockets and timers of the clients must not keep us alive
