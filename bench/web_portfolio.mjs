// make bench-web: the portfolio page with many accounts, in Debian's
// chromium: time from navigation start to a usable page (the table rendered
// and the page signalling ready), from the Performance API. Not a test.
// Usage: node bench/web_portfolio.mjs URL TOKEN AS_OF [RUNS]
import { chromium } from '../tests/web/node_modules/playwright-core/index.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [url, token, asOf, runs = '3'] = process.argv.slice(2);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'uptake-bench-web-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1366, height: 900 },
});
const page = ctx.pages()[0];
await page.goto(url + '/');
await page.fill('#signin input[name=token]', token);
await Promise.all([page.waitForNavigation(), page.click('#signin button')]);
const times = [];
const all = [];
let rows = 0;
for (let i = 0; i < Number(runs); i++) {
  // a new document each run, after the server has finished the previous
  // page's background requests (the 28-day-ago portfolio, the alerts)
  await page.goto('about:blank');
  await new Promise((r) => setTimeout(r, 2000));
  await page.goto(`${url}/#/portfolio?as_of=${asOf}&r=${i}`);
  for (let k = 0; k < 600; k++) {
    if (await page.evaluate(() => window.uptakeReady === true && !!document.querySelector('#portfolio-table tbody tr'))) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  // the instant the page made itself usable, recorded by the page itself
  const t = await page.evaluate(() => window.uptakeReadyAt || performance.now());
  for (let k = 0; k < 1500; k++) {
    if (await page.evaluate(() => !!window.uptakeAllRowsAt)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  all.push(await page.evaluate(() => window.uptakeAllRowsAt));
  rows = await page.$$eval('#portfolio-table tbody tr', (r) => r.length);
  times.push(t);
}
await ctx.close();
fs.rmSync(profile, { recursive: true, force: true });
times.sort((a, b) => a - b);
all.sort((a, b) => a - b);
console.log(`portfolio page, ${rows} accounts: time to a usable page (tiles, filters, the first 200 rows; sorting and` +
  ` filtering work on all) ${times.map((t) => (t / 1000).toFixed(2) + ' s').join(', ')}` +
  ` (median ${(times[Math.floor(times.length / 2)] / 1000).toFixed(2)} s; target < 1 s); every row drawn:` +
  ` ${all.map((t) => (t / 1000).toFixed(2) + ' s').join(', ')}`);
