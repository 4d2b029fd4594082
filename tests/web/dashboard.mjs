// The dashboard in Debian's chromium, as a person would use it: sign in, open
// each page, check the numbers shown against the API, sort, filter, share an
// address, change the as-of date, use the keyboard, and make sure data never
// runs as code. Screenshots go to ARTIFACTS.
// Usage: node dashboard.mjs URL TOKEN ARTIFACTS AS_OF
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [url, token, artifacts, asOf] = process.argv.slice(2);
const XSS = '<img src=x onerror=alert(1)>';
fs.mkdirSync(artifacts, { recursive: true });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'uptake-chromium-'));
let checks = 0, failed = 0;
const fail = (msg) => { failed++; throw new Error(msg); };
const check = (cond, msg) => { checks++; if (!cond) fail(msg); };
const say = (msg) => console.log(`  ${msg}`);

const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  viewport: { width: 1366, height: 900 },
  timeout: 30000,
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(15000);
page.setDefaultNavigationTimeout(15000);
const dialogs = [], external = [], errors = [], csp = [];
page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
page.on('request', (r) => { if (!r.url().startsWith(url) && !r.url().startsWith('data:')) external.push(r.url()); });
page.on('pageerror', (e) => errors.push(String(e)));
page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) csp.push(m.text()); });

const api = (p) => page.evaluate(async (p) => (await fetch(p, { credentials: 'same-origin' })).json(), p);
// polls a predicate in the page, 15 s at most (waitForFunction evaluates
// strings, which the dashboard's Content-Security-Policy rightly forbids)
const until = async (fn, arg, what) => {
  for (let i = 0; i < 150; i++) {
    if (await page.evaluate(fn, arg).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`timed out waiting for ${what || fn}`);
};
const ready = (what) => until(() => window.uptakeReady === true, null, what || 'the page to render');
// opens an address in a fresh document, as a shared link would be
const open = async (hash, what) => {
  await page.goto('about:blank');
  await page.goto(`${url}/${hash}`);
  await ready(what || hash);
};
const complete = () => until(() => document.querySelector('#view').dataset.complete === 'yes', null, 'the 28-day change');
const shot = (name, full = true) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: full });
const fix1 = (v) => (v === null ? '–' : Number(v).toFixed(1));
const pct = (v) => (v === null ? '–' : `${(100 * v).toFixed(0)}%`);
const money = (v) => (v === null ? '–' : `$${Math.round(v).toLocaleString('en-US')}`);
const days = (iso, n) => new Date(Date.parse(iso + 'T00:00:00Z') + n * 86400000).toISOString().slice(0, 10);
const tableRows = (sel) => page.$$eval(`${sel} tbody tr:not(.pad)`, (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
const col = async (key) => page.$$eval(`#portfolio-table thead th`, (ths, key) => ths.findIndex((t) => t.dataset.key === key), key);

try {
  say('signed out: the sign-in form, and no data');
  await page.goto(`${url}/#/gaps?as_of=${asOf}`);
  await page.waitForSelector('#signin:not([hidden])');
  check(!(await page.isVisible('nav')), 'the page navigation shows while signed out');
  await shot('signin', false);
  await page.fill('#token', 'upr_wrong');
  await Promise.all([page.waitForNavigation(), page.click('#signin button')]);
  await page.waitForSelector('#signin-failed:not([hidden])');
  await page.fill('#token', token);
  await Promise.all([page.waitForNavigation(), page.click('#signin button')]);

  say('signing in leads back to the address that asked for it (the gaps page, as of the date)');
  await ready('the page after signing in');
  check(page.url().includes('#/gaps') && page.url().includes(`as_of=${asOf}`), `after sign-in the address is ${page.url()}`);
  const cookie = (await context.cookies()).find((k) => k.name === 'uptake_session');
  check(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', 'the session cookie must be HttpOnly and SameSite=Strict');
  check(await page.evaluate(() => document.cookie === ''), 'the page script can read the session cookie');

  say('portfolio: every account, its level and health and its 28-day change equal the API');
  await open(`#/portfolio?as_of=${asOf}`);
  await complete();
  const want = await api(`/api/v1/accounts?as_of=${asOf}`);
  const before = await api(`/api/v1/accounts?as_of=${days(asOf, -28)}`);
  const then = new Map(before.accounts.map((a) => [a.account_id, a.health]));
  const ci = { name: await col('name'), level: await col('level'), health: await col('health'), change: await col('health_change'),
    seats: await col('active_users'), arr: await col('arr'), why: await col('attention') };
  let shown = await tableRows('#portfolio-table');
  check(shown.length === want.accounts.length, `portfolio shows ${shown.length} rows, the API has ${want.accounts.length}`);
  check(await page.$eval('#portfolio-table', (t) => t.getAttribute('aria-rowcount')) === String(want.accounts.length + 1), 'aria-rowcount');
  let attention = 0;
  for (const a of want.accounts) {
    const row = shown.find((s) => s[ci.name] === (a.name || a.account_id));
    check(row, `account ${a.account_id} missing from the portfolio`);
    check(row[ci.health] === fix1(a.health), `${a.account_id}: health shown ${row[ci.health]}, API ${fix1(a.health)}`);
    check(row[ci.level].includes(a.level), `${a.account_id}: level shown ${row[ci.level]}, API ${a.level}`);
    check(row[ci.seats] === `${a.active_users} / ${a.seats}`, `${a.account_id}: seats used ${row[ci.seats]}`);
    check(row[ci.arr] === money(a.arr), `${a.account_id}: ARR ${row[ci.arr]}, API ${money(a.arr)}`);
    const p = then.get(a.account_id);
    const change = a.health !== null && p !== undefined && p !== null ? a.health - p : null;
    check(row[ci.change].replace(/^[▲▼] /, '') === (change === null ? '–' : `${change > 0 ? '+' : ''}${change.toFixed(1)}`),
      `${a.account_id}: Δ 28 d shown ${row[ci.change]}, API ${change}`);
    const needs = a.level === 'low' || (change !== null && change <= -15) || (a.wau_trend !== null && a.wau_trend <= -0.3);
    check((row[ci.why] !== '') === needs, `${a.account_id}: needs attention shown '${row[ci.why]}', expected ${needs}`);
    if (needs) attention++;
  }
  const tileValue = (sel) => page.$eval(`#tiles ${sel} .value`, (t) => t.textContent);
  for (const l of ['low', 'high', 'effective']) {
    const n = want.accounts.filter((a) => a.level === l).length;
    check(await tileValue(`[data-level=${l}]`) === String(n), `the ${l} tile does not say ${n}`);
    const arr = want.accounts.filter((a) => a.level === l).reduce((s, a) => s + (a.arr || 0), 0);
    check((await page.$eval(`#tiles [data-level=${l}] .sub`, (t) => t.textContent)).startsWith(`${money(arr)} ARR`), `the ${l} tile's ARR is not ${money(arr)}`);
  }
  check(await tileValue('.attention') === String(attention), `the attention tile does not say ${attention}`);
  await shot('portfolio', false);

  say(`the account named ${XSS} shows as text and runs nothing`);
  check(shown.some((s) => s[ci.name] === XSS), 'the XSS account name is not shown as text');
  check(!(await page.$('#view img')), 'an <img> element was created from data');

  say('sort by health (click, then Enter on the focused header)');
  const healths = async () => (await tableRows('#portfolio-table')).map((r) => parseFloat(r[ci.health])).filter((x) => !isNaN(x));
  const asc = (xs) => xs.every((x, i) => i === 0 || xs[i - 1] <= x);
  const desc = (xs) => xs.every((x, i) => i === 0 || xs[i - 1] >= x);
  check(asc(await healths()), 'the portfolio is not sorted by health, lowest first, by default');
  await page.click('th[data-key=health]');
  check(desc(await healths()), 'a click on Health did not sort highest first');
  check(page.url().includes('sort=health') || page.url().includes('dir=desc'), `the sort is not in the address: ${page.url()}`);
  await page.focus('th[data-key=health]');
  await page.keyboard.press('Enter');
  check(asc(await healths()), 'Enter on the Health header did not reverse the sort');
  await page.click('th[data-key=arr]');
  const arrs = (await tableRows('#portfolio-table')).map((r) => Number(r[ci.arr].replace(/[$,]/g, ''))).filter((x) => !isNaN(x));
  check(desc(arrs), 'ARR does not sort largest first on the first click');

  say('filter by level, by segment and owner, by a search; the address keeps the filters');
  const lows = want.accounts.filter((a) => a.level === 'low').length;
  await page.selectOption('select[data-filter=level]', 'low');
  shown = await tableRows('#portfolio-table');
  check(shown.length === lows && shown.every((r) => r[ci.level].includes('low')), `level filter shows ${shown.length} rows, ${lows} accounts are low`);
  const seg = want.accounts.find((a) => a.segment && a.owner);
  await page.selectOption('select[data-filter=level]', '');
  await page.selectOption('select[data-filter=segment]', seg.segment);
  await page.selectOption('select[data-filter=owner]', seg.owner);
  const both = want.accounts.filter((a) => a.segment === seg.segment && a.owner === seg.owner).length;
  check((await tableRows('#portfolio-table')).length === both, `segment ${seg.segment} and owner ${seg.owner}: expected ${both} rows`);
  check((await page.textContent('#shown')).startsWith(`${both} of ${want.accounts.length}`), 'the count of shown accounts');
  const shared = page.url();
  check(shared.includes(`segment=${encodeURIComponent(seg.segment).replace(/%20/g, '+')}`) && shared.includes('owner='), `the filters are not in the address: ${shared}`);
  await open(shared.slice(url.length + 1), 'the shared address');
  check((await tableRows('#portfolio-table')).length === both, 'opening the shared address does not show the same filtered rows');
  check(await page.$eval('select[data-filter=owner]', (s) => s.value) === seg.owner, 'the shared address does not set the owner filter');
  await page.click('text=Clear filters');
  await page.fill('input[data-filter=q]', 'onerror');
  await until(() => document.querySelectorAll('#portfolio-table tbody tr:not(.pad)').length === 1, null, 'the search to leave one row');
  await page.fill('input[data-filter=q]', '');
  await until((n) => document.querySelectorAll('#portfolio-table tbody tr:not(.pad)').length === n, want.accounts.length, 'every row back');
  await page.click('#tiles [data-level=low]');
  check((await tableRows('#portfolio-table')).length === lows, 'the Low tile does not filter the table to the low accounts');
  await page.click('text=Clear filters');

  say('keyboard: Tab to an account link and Enter opens the account');
  await page.focus('th[data-key=attention]');
  await page.keyboard.press('Tab');   // the region, then its first link
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('href'));
  check(focused && focused.startsWith('#/account/'), `Tab after the headers focuses ${focused}, not an account link`);
  await page.evaluate(() => { window.uptakeReady = false; });
  await page.keyboard.press('Enter');
  await ready('the account page from the keyboard');
  check(page.url().includes(focused), 'Enter on an account link did not open it');
  check(page.url().includes(`as_of=${asOf}`), 'the account link lost the as-of date');

  say('change the as-of date: the address and the numbers follow, and the nav links keep it');
  await open(`#/portfolio?as_of=${asOf}`);
  const earlier = days(asOf, -30);
  await page.fill('#asof', earlier);
  await page.dispatchEvent('#asof', 'change');
  await until((d) => location.hash.includes(`as_of=${d}`) && window.uptakeReady === true, earlier, 'the as-of date in the address');
  const past = await api(`/api/v1/accounts?as_of=${earlier}`);
  const shownThen = await tableRows('#portfolio-table');
  for (const a of past.accounts) {
    const row = shownThen.find((s) => s[ci.name] === (a.name || a.account_id));
    check(row && row[ci.health] === fix1(a.health), `${a.account_id} on ${earlier}: shown ${row && row[ci.health]}, API ${fix1(a.health)}`);
  }
  check((await page.getAttribute('nav a[data-page=features]', 'href')).includes(`as_of=${earlier}`), 'the Features link lost the as-of date');
  await shot('portfolio-earlier', false);

  say('account page: KPIs, the charts, the heatmap and the stage matrix equal the API');
  const acc = want.accounts.filter((a) => a.level === 'effective' || a.level === 'high').sort((a, b) => b.seats - a.seats)[0] || want.accounts[0];
  await open(`#/account/${encodeURIComponent(acc.account_id)}?as_of=${asOf}`);
  const kpi = async (label) => page.$$eval('#kpis .tile', (ts, l) => { const t = ts.find((x) => x.querySelector('.label').textContent === l); return t && t.querySelector('.value').textContent; }, label);
  const full = await api(`/api/v1/accounts/${acc.account_id}?as_of=${asOf}`);
  check(await kpi('Health') === fix1(full.health), `account Health ${await kpi('Health')}, API ${fix1(full.health)}`);
  check(await kpi('Breadth') === pct(full.breadth), 'account Breadth');
  check(await kpi('Depth') === pct(full.depth), 'account Depth');
  check(await kpi('DAU') === String(full.dau) && await kpi('WAU') === String(full.wau), 'account DAU / WAU');
  check(await kpi('Seats used') === `${full.active_users} / ${full.seats}`, 'account seats used');
  for (const sel of ['#chart-activity', '#chart-seats', '#heatmap', '#stage-matrix', '#people', '#milestones', '#outcomes', '#health-parts', '#level-history'])
    check(await page.$(sel), `the account page has no ${sel}`);
  const series = await api(`/api/v1/accounts/${acc.account_id}/series?as_of=${asOf}&days=90`);
  check(series.days.length === 90, `the series has ${series.days.length} days`);
  const heat = await tableRows('#heatmap');
  check(heat.length === series.feature_weeks.length, 'heatmap rows');
  series.feature_weeks.forEach((f, i) => {
    check(heat[i][0].startsWith(f.feature), `heatmap row ${i} is ${heat[i][0]}, not ${f.feature}`);
    check(heat[i].slice(1).join(',') === f.weeks.map((w) => w.users).join(','), `heatmap ${f.feature}: ${heat[i].slice(1)} vs ${f.weeks.map((w) => w.users)}`);
  });
  const users = await api(`/api/v1/accounts/${acc.account_id}/users?as_of=${asOf}`);
  const u0 = users.users[0];
  const cell = await page.$$eval('#stage-matrix tbody tr', (rows, u) => {
    const head = [...document.querySelectorAll('#stage-matrix thead th')].map((t) => t.textContent);
    const row = rows.find((r) => r.children[0].textContent === u.user_id);
    return row && row.children[head.indexOf(u.feature)].textContent;
  }, u0);
  check(cell === { aware: 'A', trial: 'T', regular: 'R', mastery: 'M' }[u0.stage], `stage of ${u0.user_id} on ${u0.feature}: shown ${cell}, API ${u0.stage}`);
  const parts = await page.$$eval('#health-parts tbody tr', (rows) => rows.map((r) => [r.children[0].textContent, r.children[1].textContent]));
  check(parts.length === 6, 'six health components');
  await until(() => !!document.querySelector('#chart-activity') && document.querySelector('#chart-activity').width > 0 && !!window.Chart, null, 'the charts');
  await page.waitForTimeout(200);
  await shot('account');

  say(`the account page of ${XSS}`);
  await open(`#/portfolio?as_of=${asOf}&q=onerror`);
  await page.click('#portfolio-table tbody a');
  await ready('the XSS account page');
  check(await page.textContent('#account-name') === XSS, 'the XSS account page does not show its name as text');
  check(!(await page.$('#view img')), 'an <img> element was created from data on the account page');
  await shot('account-xss', false);

  say('features: adoption per feature and the funnel equal the API');
  await open(`#/features?as_of=${asOf}`);
  const feats = await api(`/api/v1/features?as_of=${asOf}`);
  const stages = await api(`/api/v1/stages?as_of=${asOf}`);
  const ft = await tableRows('#feature-table');
  const names = [...new Set(feats.features.map((f) => f.feature))];
  check(ft.length === names.length, 'one row per feature');
  for (const f of names) {
    const rs = feats.features.filter((x) => x.feature === f);
    const rate = rs.reduce((s, x) => s + x.users, 0) / rs.reduce((s, x) => s + x.active_users, 0);
    const row = ft.find((r) => r[0].replace(/core$/, '') === f);
    check(row && row[1].trim() === pct(rate), `adoption of ${f}: shown ${row && row[1]}, API ${pct(rate)}`);
  }
  const funnel = await tableRows('#funnel');
  check(funnel.length === stages.stages.length, `the funnel shows ${funnel.length} features, the API ${stages.stages.length}`);
  stages.stages.forEach((s, i) => check(funnel[i][3] === String(s.trial) && funnel[i][7] === s.diagnosis, `funnel ${s.feature}`));
  check((await page.$$('#behind .card')).length === names.filter((f) => feats.features.find((x) => x.feature === f).core).length, 'a furthest-behind card per core feature');
  await shot('features');

  say('gaps: the top N with ARR at stake equal the API; N can change');
  await open(`#/gaps?as_of=${asOf}`);
  const gaps = await api(`/api/v1/gaps?as_of=${asOf}&top=20`);
  const gt = await tableRows('#gaps-table');
  check(gt.length === gaps.gaps.length, `gaps shows ${gt.length} rows, the API ${gaps.gaps.length}`);
  gaps.gaps.forEach((g, i) => check(gt[i][1] === (g.name || g.account_id) && gt[i][6] === money(g.arr_at_stake), `gap row ${i}: ${gt[i]}`));
  await shot('gaps');
  await page.evaluate(() => { window.uptakeReady = false; });
  await page.selectOption('select[data-filter=top]', '10');
  await ready('the top 10 gaps');
  check((await tableRows('#gaps-table')).length === Math.min(10, gaps.gaps.length) && page.url().includes('top=10'), 'top 10');

  say('alerts: the count equals the API; acknowledge one');
  await open('#/alerts');
  const alerts = await api('/api/v1/alerts');
  check(await page.textContent('#view h1') === `Alerts: ${alerts.alerts.length} open`, 'the alerts heading');
  if (alerts.alerts.length) {
    await page.evaluate(() => { window.uptakeReady = false; });
    await page.click('table.alerts button');
    await ready('the alerts page after an ack');
    const after = await api('/api/v1/alerts?state=acknowledged');
    check(after.alerts.length === 1, `after one ack, ${after.alerts.length} alerts are acknowledged`);
  }
  await shot('alerts');

  say('sign out: the sign-in form again, and the API refuses');
  await Promise.all([page.waitForNavigation(), page.click('.logout button')]);
  check((await page.evaluate(async () => (await fetch('/api/v1/accounts')).status)) === 401,
    'the API still answers after Sign out: POST /logout did not clear the session cookie');
  await page.waitForSelector('#signin:not([hidden])');
  check(!(await page.isVisible('#signin-failed')), 'signing out says the token was not accepted');

  check(dialogs.length === 0, `a dialog opened: ${dialogs.join('; ')}`);
  check(external.length === 0, `requests left the machine: ${external.join(', ')}`);
  check(errors.length === 0, `page errors: ${errors.join('; ')}`);
  check(csp.length === 0, `Content-Security-Policy violations: ${csp.join('; ')}`);
} catch (e) {
  if (!failed) failed++;
  console.error(`FAIL [web] ${e.message}`);
  await shot('failure').catch(() => {});
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(`${checks - (failed ? 1 : 0)} passed, ${failed ? 1 : 0} failed`);
process.exitCode = failed ? 1 : 0;
