// uptake dashboard: a hash-routed page over the JSON API (docs/api.md). Every
// value from the data reaches the DOM through textContent, never as HTML.
'use strict';

const $ = (sel) => document.querySelector(sel);
// The page's section. A page passes its route: when another render has
// begun since (the address changed while the page awaited the API), the page
// stops, so that what is shown is always the page and date of the address.
class Stale extends Error {}
let rendering = null;
const view = (r) => {
  if (r && r !== rendering) throw new Stale();
  return $('#view');
};

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

const DASH = '–';
const pct = (v) => (v === null || v === undefined ? DASH : `${(100 * v).toFixed(0)}%`);
const fix = (v, d = 1) => (v === null || v === undefined ? DASH : Number(v).toFixed(d));
const int = (v) => (v === null || v === undefined ? DASH : Math.round(v).toLocaleString('en-US'));
const money = (v) => (v === null || v === undefined ? DASH : `$${Math.round(v).toLocaleString('en-US')}`);
const signed = (v, d = 1) => (v === null || v === undefined ? DASH : `${v > 0 ? '+' : ''}${Number(v).toFixed(d)}`);

function levelBadge(level) {
  const icon = { low: '▼', high: '●', effective: '★' }[level] || '';
  return el('span', { class: `level ${level}`, title: `adoption level: ${level}` }, `${icon} ${level}`);
}

// ---- routing and state ----------------------------------------------------

function route() {
  const h = location.hash.replace(/^#\/?/, '') || 'portfolio';
  const [path, query] = h.split('?');
  const parts = path.split('/').map(decodeURIComponent);
  const params = new URLSearchParams(query || '');
  // no date in the address and data that ends well before today: its last day
  if (!params.has('as_of') && autoAsOf) params.set('as_of', autoAsOf);
  return { page: parts[0] || 'portfolio', arg: parts[1] || null, params };
}

// The hash of a page: the as-of date of the URL shown now (unless params give
// as_of itself; an empty one drops it), then params without empty values.
// Every in-page link and every navigation goes through it, so that the page
// a link opens is at the date the date box shows.
function hashFor(page, arg, params) {
  const given = new URLSearchParams(params || {});
  const p = new URLSearchParams();
  const asof = given.has('as_of') ? given.get('as_of') : route().params.get('as_of');
  if (asof) p.set('as_of', asof);
  for (const [k, v] of given) if (k !== 'as_of' && v !== '' && v !== 'null' && v !== 'undefined') p.set(k, v);
  const q = p.toString();
  return `#/${page}${arg ? '/' + encodeURIComponent(arg) : ''}${q ? '?' + q : ''}`;
}

function go(page, arg, params) {
  location.hash = hashFor(page, arg, params);
}

// The page shown now with its filters, but not its date: where a back link
// returns to (the `from` of an account page's address).
function here() {
  const r = route();
  const p = new URLSearchParams(r.params);
  p.delete('as_of');
  p.delete('from');
  const q = p.toString();
  return `${r.page}${q ? '?' + q : ''}`;
}

// The UTC day of the instant a report is computed for: the as_of of the URL
// (a day, an instant with or without an offset, epoch seconds or
// milliseconds; docs/api.md), or today when there is none (the API's now).
function dayInUse(asof) {
  if (!asof) return new Date().toISOString().slice(0, 10);
  if (/^\d{4}-\d{2}-\d{2}$/.test(asof)) return asof;
  const t = /^\d+$/.test(asof) ? Number(asof) * (asof.length <= 11 ? 1000 : 1)
    : Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(asof) ? asof.replace(' ', 'T') : `${asof.replace(' ', 'T')}Z`);
  return Number.isNaN(t) ? '' : new Date(t).toISOString().slice(0, 10);
}

class SignInNeeded extends Error {}

async function api(path, params) {
  const p = new URLSearchParams(params || {});
  const q = p.toString();
  const res = await fetch(`/api/v1/${path}${q ? '?' + q : ''}`, { credentials: 'same-origin' });
  if (res.status === 401) throw new SignInNeeded();
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

// The model's thresholds and windows (alert_settings, level thresholds), read
// once from the API: the dashboard judges with the numbers the alerts use.
let settingsPromise = null;
function settings() {
  if (!settingsPromise) settingsPromise = api('settings').catch((e) => { settingsPromise = null; throw e; });
  return settingsPromise;
}

function asOfParams(r) {
  const d = r.params.get('as_of');
  return d ? { as_of: d } : {};
}

// ---- tables -----------------------------------------------------------------

// A sortable table: columns [{key, label, num, render(row), value(row)}];
// rowClass(row), if given, names a class for a row's <tr>.
function sortableTable(columns, rows, state, id, rowClass) {
  const table = el('table', { id });
  const head = el('tr');
  const body = el('tbody');
  const draw = () => {
    const col = columns.find((c) => c.key === state.sort) || columns[0];
    const val = col.value || ((r) => r[col.key]);
    const dir = state.dir === 'desc' ? -1 : 1;
    const sorted = rows.slice().sort((a, b) => {
      const x = val(a), y = val(b);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    });
    for (const th of head.children)
      th.setAttribute('aria-sort', th.dataset.key === col.key ? (dir > 0 ? 'ascending' : 'descending') : 'none');
    // the first rows at once, the rest in slices, so that a portfolio of
    // thousands of accounts is usable before its last row is drawn
    const gen = ++state.gen;
    const rowOf = (r) => {
      const tr = document.createElement('tr');
      const cls = rowClass && rowClass(r);
      if (cls) tr.className = cls;
      for (const c of columns) {
        const td = document.createElement('td');
        if (c.num) td.className = 'num';
        const v = c.render ? c.render(r) : r[c.key];
        if (v instanceof Node) td.appendChild(v);
        else td.textContent = v === null || v === undefined ? DASH : String(v);
        tr.appendChild(td);
      }
      return tr;
    };
    const slice = (from, n) => {
      if (gen !== state.gen) return;
      const frag = document.createDocumentFragment();
      for (const r of sorted.slice(from, from + n)) frag.appendChild(rowOf(r));
      body.appendChild(frag);
      if (from + n < sorted.length) setTimeout(() => slice(from + n, 500), 0);
      else window.uptakeAllRowsAt = performance.now();
    };
    body.replaceChildren();
    window.uptakeAllRowsAt = null;
    slice(0, 200);
  };
  state.gen = state.gen || 0;
  for (const c of columns) {
    const th = el('th', { tabindex: 0, scope: 'col', class: c.num ? 'num' : null, 'data-key': c.key }, c.label);
    const toggle = () => {
      state.dir = state.sort === c.key && state.dir === 'asc' ? 'desc' : 'asc';
      state.sort = c.key;
      if (state.onchange) state.onchange();
      draw();
    };
    th.addEventListener('click', toggle);
    th.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(); } });
    head.appendChild(th);
  }
  table.append(el('thead', {}, head), body);
  draw();
  return table;
}

// A link to an account's page: its name (its id on hover), at the as-of date
// of the URL, with the page it was opened from (and that page's filters) for
// the account page's back link.
function accountLink(id, name) {
  return el('a', { href: hashFor('account', id, { from: here() }), title: `account id: ${id}`, 'data-account': id }, name || id);
}

// id → name of every account (any status) at the as-of date, in one request;
// an account the table does not have shows its id.
async function accountNames(r) {
  try {
    const b = await api('accounts', { ...asOfParams(r), status: 'all', compact: 1 });
    return new Map(b.accounts.map((a) => [a.account_id, a.name]));
  } catch (e) {
    if (e instanceof SignInNeeded) throw e;
    return new Map();
  }
}

// A user: there is no user name in the data (users have an id and a role),
// so the id, with what is known on hover.
function userLabel(id, role) {
  return el('span', { class: 'user', title: `user id: ${id}${role ? `, ${role}` : ''}` }, id);
}

function tile(label, value, extra) {
  return el('div', { class: 'tile' }, el('div', { class: 'label' }, label), el('div', { class: 'value' }, value), extra || null);
}

let chartLoading = null;
function loadChart() {
  if (window.Chart) return Promise.resolve();
  if (!chartLoading)
    chartLoading = new Promise((resolve) => {
      const sc = document.createElement('script');
      sc.src = '/assets/chart.min.js';
      sc.onload = resolve;
      sc.onerror = resolve;
      document.head.appendChild(sc);
    });
  return chartLoading;
}

// A Chart.js chart on canvas, once Chart.js has loaded (at once if it has).
function drawChart(canvas, config) {
  if (!window.Chart) { loadChart().then(() => window.Chart && drawChart(canvas, config)); return; }
  // eslint-disable-next-line no-new
  new window.Chart(canvas, config);
}

const COLORS = ['#175cd3', '#b54708', '#067647', '#667085'];

function lineChart(canvas, labels, datasets, opts) {
  drawChart(canvas, {
    type: 'line',
    data: { labels, datasets: datasets.map((d, i) => ({ pointRadius: 0, borderWidth: 2, tension: 0.2,
      borderColor: COLORS[i % 4], borderDash: i % 2 ? [4, 3] : [], ...d })) },
    options: { animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { display: !(opts && opts.spark) } },
      scales: opts && opts.spark ? { x: { display: false }, y: { display: false } } : {} },
  });
}

// ---- portfolio --------------------------------------------------------------

async function portfolio(r) {
  // customers only, unless the hash says status=all (churned accounts and
  // prospects too, each with a badge; the tiles still count customers)
  const showAll = r.params.get('status') === 'all';
  const params = { ...asOfParams(r), ...(showAll ? { status: 'all' } : {}) };
  // the portfolio first; the health change (computed by the engine over the
  // model's health_drop_days) and the alerts fill in after it
  const [now, cfg] = await Promise.all([api('accounts', { ...params, compact: 1 }), settings()]);
  const rows = now.accounts;
  const isCustomer = (a) => !a.status || a.status === 'customer';
  const customers = rows.filter(isCustomer);
  const as = cfg.alert_settings;
  const judge = (urgent) => {
    for (const a of rows)
      a.attention = isCustomer(a) && (a.level === 'low' ||
        (a.health_change !== null && a.health_change !== undefined && a.health_change <= -as.health_drop_points) ||
        (a.wau_trend !== null && a.wau_trend < as.usage_drop_wau_trend) || urgent.has(a.account_id));
  };
  for (const a of rows) a.health_change = null;
  judge(new Set());
  const byLevel = { low: 0, high: 0, effective: 0 }, arrByLevel = { low: 0, high: 0, effective: 0 };
  for (const a of customers) if (a.level in byLevel) { byLevel[a.level]++; arrByLevel[a.level] += a.arr || 0; }
  const v = view(r);
  const others = rows.length - customers.length;
  v.replaceChildren(el('h1', {}, showAll ? `Portfolio: ${customers.length} customers and ${others} churned or prospects` : `Portfolio: ${rows.length} accounts`));
  v.append(el('div', { class: 'tiles', id: 'tiles' },
    tile('Effective ★', String(byLevel.effective), el('div', { class: 'muted' }, `${money(arrByLevel.effective)} ARR`)),
    tile('High ●', String(byLevel.high), el('div', { class: 'muted' }, `${money(arrByLevel.high)} ARR`)),
    tile('Low ▼', String(byLevel.low), el('div', { class: 'muted' }, `${money(arrByLevel.low)} ARR`)),
    tile('Need attention', String(customers.filter((a) => a.attention).length),
      el('div', { class: 'muted' }, `low level, health −${as.health_drop_points} in ${as.health_drop_days} d, ` +
        `WAU down more than ${pct(-as.usage_drop_wau_trend)}, or a high alert`))));
  // the filters and the sort live in the address (replaced, not pushed: no
  // reload), so that a reload, the back link of an account page and a date
  // change keep them
  const where = () => ({ ...filt, sort: state.sort, dir: state.dir, status: showAll ? 'all' : '' });
  const keep = () => { if (r === rendering) history.replaceState(null, '', hashFor('portfolio', null, where())); };
  const uniq = (k) => [...new Set(rows.map((a) => a[k]).filter((x) => x))].sort();
  const state = { sort: r.params.get('sort') || 'health', dir: r.params.get('dir') || 'asc', onchange: () => keep() };
  const filt = { segment: r.params.get('segment') || '', owner: r.params.get('owner') || '',
    level: r.params.get('level') || '', q: r.params.get('q') || '', attention: r.params.get('attention') || '' };
  const select = (name, options) => el('label', {}, name,
    el('select', { 'data-filter': name, onchange: (e) => { filt[name] = e.target.value; update(); } },
      el('option', { value: '' }, 'all'), options.map((o) => el('option', { value: o, selected: filt[name] === o }, o))));
  const filters = el('div', { class: 'filters' },
    el('label', {}, 'search', el('input', { type: 'search', value: filt.q, 'data-filter': 'q',
      oninput: (e) => { filt.q = e.target.value; update(); } })),
    select('segment', uniq('segment')), select('owner', uniq('owner')), select('level', ['low', 'high', 'effective']),
    select('attention', ['yes']),
    el('label', { class: 'check' }, el('input', { type: 'checkbox', id: 'show-all', checked: showAll, onchange: (e) => {
      go('portfolio', null, { ...where(), status: e.target.checked ? 'all' : '' });
    } }), 'Show churned and prospects'));
  const holder = el('div', { class: 'scroll' });
  v.append(filters, holder);
  const columns = [
    { key: 'name', label: 'Account', value: (a) => (a.name || a.account_id).toLowerCase(),
      render: (a) => (isCustomer(a) ? accountLink(a.account_id, a.name)
        : el('span', {}, accountLink(a.account_id, a.name), ' ', el('span', { class: `status ${a.status}`, title: `not a customer at the as-of date: ${a.status}` }, a.status))) },
    { key: 'level', label: 'Level', value: (a) => ({ low: 0, high: 1, effective: 2 }[a.level]), render: (a) => (a.level ? levelBadge(a.level) : DASH) },
    { key: 'health', label: 'Health', num: true, render: (a) => fix(a.health) },
    { key: 'health_change', label: `Δ ${as.health_drop_days} d`, num: true, render: (a) => signed(a.health_change) },
    { key: 'breadth', label: 'Breadth', num: true, render: (a) => pct(a.breadth) },
    { key: 'depth', label: 'Depth', num: true, render: (a) => pct(a.depth) },
    { key: 'stickiness', label: 'Stickiness', num: true, render: (a) => pct(a.stickiness) },
    { key: 'wau_trend', label: 'WAU trend', num: true, render: (a) => (a.wau_trend === null ? DASH : `${a.wau_trend > 0 ? '+' : ''}${pct(a.wau_trend)}`) },
    { key: 'ttfv_days', label: 'TTFV d', num: true },
    { key: 'active_users', label: 'Seats used', num: true, render: (a) => `${int(a.active_users)} / ${int(a.seats)}` },
    { key: 'arr', label: 'ARR', num: true, render: (a) => money(a.arr) },
    { key: 'renewal_date', label: 'Renewal' },
    { key: 'owner', label: 'Owner' },
  ];
  let tileAttention = null;
  const update = () => {
    const q = filt.q.toLowerCase();
    const shown = rows.filter((a) => (!filt.segment || a.segment === filt.segment) && (!filt.owner || a.owner === filt.owner) &&
      (!filt.level || a.level === filt.level) && (!filt.attention || a.attention) &&
      (!q || (a.name || '').toLowerCase().includes(q) || a.account_id.toLowerCase().includes(q)));
    keep();
    holder.replaceChildren(sortableTable(columns, shown, state, 'portfolio-table', (a) => (isCustomer(a) ? null : 'former')));
  };
  update();
  window.uptakeReady = true;   // usable now; the rest refines it
  window.uptakeReadyAt = performance.now();
  window.uptakeRefined = true;
  tileAttention = v.querySelector('#tiles .tile:last-child .value');
  const [signals, alerts] = await Promise.all([api('signals', params),
    api('alerts').catch(() => ({ alerts: [] }))]);
  const change = new Map(signals.accounts.map((a) => [a.account_id, a.health_change]));
  for (const a of rows) a.health_change = change.has(a.account_id) ? change.get(a.account_id) : null;
  judge(new Set(alerts.alerts.filter((a) => a.severity === 'critical' || a.severity === 'high').map((a) => a.account_id)));
  if (tileAttention) tileAttention.textContent = String(customers.filter((a) => a.attention).length);
  update();
}

// ---- account ----------------------------------------------------------------

const PAGE_TITLES = { portfolio: 'Portfolio', features: 'Features', gaps: 'Gaps', alerts: 'Alerts', renewals: 'Renewals' };

// Back to the page the account was opened from, with that page's filters, at
// the as-of date of the URL now (it may have changed on the account page).
function backLink(r) {
  const from = r.params.get('from') || 'portfolio';
  const [page, query] = from.split('?');
  const known = Object.prototype.hasOwnProperty.call(PAGE_TITLES, page);
  const params = known ? Object.fromEntries(new URLSearchParams(query || '')) : {};
  delete params.as_of;
  return el('p', { class: 'back' }, el('a', { id: 'back', href: hashFor(known ? page : 'portfolio', null, params) },
    `← ${PAGE_TITLES[known ? page : 'portfolio']}`));
}

async function account(r) {
  const id = r.arg;
  const params = asOfParams(r);
  const [acc, row, series, users] = await Promise.all([
    api(`accounts/${encodeURIComponent(id)}`, params), api('accounts', { ...params, account: id }),
    api(`accounts/${encodeURIComponent(id)}/series`, { ...params, days: 90 }),
    api(`accounts/${encodeURIComponent(id)}/users`, params).catch(() => ({ users: [] }))]);
  const m = row.accounts[0];
  const v = view(r);
  v.replaceChildren(backLink(r),
    el('h1', {}, el('span', { title: `account id: ${acc.account_id}` }, acc.name || acc.account_id), ' ', levelBadge(acc.level)),
    el('p', { class: 'muted' }, [acc.segment || 'no segment', acc.owner ? `owner ${acc.owner}` : null,
      acc.contract_start ? `contract since ${acc.contract_start}` : null,
      acc.renewal_date ? `renewal ${acc.renewal_date}` : null, acc.churned_at ? `CHURNED ${acc.churned_at}` : null]
      .filter((x) => x).join(' · ')),
    el('p', {}, acc.level_reason),
    el('p', {}, el('a', { id: 'qbr-link', href: `/api/v1/accounts/${encodeURIComponent(id)}/qbr?${new URLSearchParams(params)}`,
      target: '_blank', rel: 'noopener' }, 'Quarterly review for the customer'), el('span', { class: 'muted' }, ' (a page to print or save as PDF)')));
  const days = series.days.map((d) => d.date);
  const spark = (key) => { const c = el('canvas', { 'aria-hidden': 'true' }); setTimeout(() => lineChart(c, days, [{ label: key, data: series.days.map((d) => d[key]) }], { spark: true })); return c; };
  v.append(el('div', { class: 'tiles', id: 'kpis' },
    tile('Health', fix(acc.health)), tile('Breadth', pct(acc.breadth)), tile('Depth', pct(acc.depth)),
    tile('DAU', int(acc.dau), spark('dau')), tile('WAU', int(acc.wau), spark('wau')), tile('MAU', int(m.mau), spark('mau')),
    tile('Stickiness', pct(acc.stickiness)), tile('Seats used', `${int(acc.active_users)} / ${int(acc.seats)}`)));
  const c1 = el('canvas', { id: 'chart-activity', role: 'img', 'aria-label': 'DAU and WAU over 90 days' });
  const c2 = el('canvas', { id: 'chart-seats', role: 'img', 'aria-label': 'licensed seats and monthly active users over 90 days' });
  v.append(el('div', { class: 'grid2' },
    el('div', { class: 'card' }, el('h2', {}, 'DAU and WAU, 90 days'), el('div', { class: 'chart' }, c1)),
    el('div', { class: 'card' }, el('h2', {}, 'Seats licensed vs active (MAU)'), el('div', { class: 'chart' }, c2))));
  lineChart(c1, days, [{ label: 'DAU', data: series.days.map((d) => d.dau) }, { label: 'WAU', data: series.days.map((d) => d.wau) }]);
  lineChart(c2, days, [{ label: 'seats', data: series.days.map((d) => d.seats) }, { label: 'MAU', data: series.days.map((d) => d.mau) }]);
  // feature x week heatmap, numbers in every cell
  const max = Math.max(1, ...series.feature_weeks.flatMap((f) => f.weeks.map((w) => w.users)));
  v.append(el('h2', {}, 'Users per feature and week'), el('div', { class: 'scroll' }, el('table', { class: 'heat', id: 'heatmap' },
    el('thead', {}, el('tr', {}, el('th', {}, 'feature'), series.feature_weeks[0] ? series.feature_weeks[0].weeks.map((w) => el('th', { class: 'num' }, w.week_end.slice(5))) : [])),
    el('tbody', {}, series.feature_weeks.map((f) => el('tr', {}, el('th', { scope: 'row' }, `${f.feature}${f.core ? ' (core)' : ''}`),
      f.weeks.map((w) => el('td', { class: `num h${Math.min(4, Math.ceil((4 * w.users) / max))}` }, String(w.users)))))))));
  // stage matrix
  const features = acc.features.map((f) => f.feature);
  const byUser = new Map();
  for (const u of users.users) {
    if (!byUser.has(u.user_id)) byUser.set(u.user_id, {});
    byUser.get(u.user_id)[u.feature] = u;
  }
  const letter = { aware: 'A', trial: 'T', regular: 'R', mastery: 'M' };
  v.append(el('h2', {}, 'Where each user stands (A aware, T trial, R regular, M mastery)'),
    el('div', { class: 'scroll' }, el('table', { id: 'stage-matrix' },
      el('thead', {}, el('tr', {}, el('th', {}, 'user'), features.map((f) => el('th', {}, f)))),
      el('tbody', {}, [...byUser.entries()].slice(0, 300).map(([uid, fs]) => el('tr', {}, el('th', { scope: 'row' }, userLabel(uid)),
        features.map((f) => el('td', { class: 'stage', title: fs[f] ? `${fs[f].stage}, ${fs[f].days_used_28d} days in 28` : 'none' },
          fs[f] ? letter[fs[f].stage] : '·'))))))));
  const p = acc.people;
  v.append(el('div', { class: 'grid2' },
    el('div', { class: 'card', id: 'people' }, el('h2', {}, 'Champions and stakeholders'),
      el('p', {}, `${p.engaged_stakeholders} engaged in 14 days, ${p.new_stakeholders} new${p.single_threaded ? ' — SINGLE-THREADED' : ''}`),
      el('ul', {}, p.champions_and_sponsors.map((c) => el('li', {}, userLabel(c.user_id, c.role),
        ` (${c.role}): ${c.active_days_14d} active days in 14 (${c.active_days_prev_28d} in the 28 before), trend ${c.trend === null ? DASH : pct(c.trend)}`)))),
    el('div', { class: 'card', id: 'health-parts' }, el('h2', {}, `Health ${fix(acc.health)}: its parts`),
      el('table', {}, el('tbody', {}, m.health_components.map((h) => el('tr', {}, el('th', { scope: 'row' }, h.name),
        el('td', { class: 'num' }, fix(h.score)), el('td', { class: 'num' }, h.rescaled_weight === null ? 'left out' : `× ${fix(h.rescaled_weight, 2)}`),
        el('td', {}, el('span', { class: 'bar', style: null, 'data-w': h.contribution || 0 }), ` ${fix(h.contribution)}`))))))));
  for (const b of v.querySelectorAll('.bar')) b.style.width = `${Math.max(0, Number(b.dataset.w)) * 2}px`;
  v.append(el('div', { class: 'grid2' },
    el('div', { class: 'card', id: 'milestones' }, el('h2', {}, 'Milestones'),
      acc.milestones.items.length ? el('table', {}, el('tbody', {}, acc.milestones.items.map((ms) => el('tr', {},
        el('td', {}, ms.name), el('td', {}, `due ${ms.due || DASH}`),
        el('td', { class: ms.overdue_days ? 'bad' : null }, ms.done_at ? `done ${ms.done_at}` : ms.overdue_days ? `OVERDUE ${ms.overdue_days} d` : 'open')))))
        : el('p', { class: 'muted' }, 'none')),
    el('div', { class: 'card', id: 'outcomes' }, el('h2', {}, 'Outcomes and targets'),
      el('table', {}, el('tbody', {},
        acc.outcomes.map((o) => el('tr', {}, el('td', {}, o.metric), el('td', { class: 'num' }, `${fix(o.value, 0)} / ${fix(o.target, 0)}`), el('td', {}, o.status))),
        acc.targets.map((t) => el('tr', {}, el('td', {}, `target ${t.name}`), el('td', { class: 'num' }, `${t.metric} ${fix(t.value, 2)} / ${fix(t.min, 2)}`), el('td', {}, t.status))))))));
}

// ---- features, gaps, alerts -----------------------------------------------

// A feature's diagnosis from its own funnel: the API's sentence, and the
// conversion it is about, from that feature's counts.
function featureDiagnosis(s) {
  if (!s) return { text: DASH, detail: '' };
  const d = s.diagnosis || '';
  let detail = '';
  if (/trial and regular/.test(d) && s.trial_to_regular !== null)
    detail = `${pct(s.trial_to_regular)} of its ${int(s.trial + s.regular + s.mastery)} users past aware reached regular`;
  else if (/regular and mastery/.test(d) && s.regular_to_mastery !== null)
    detail = `${pct(s.regular_to_mastery)} of its ${int(s.regular + s.mastery)} regular users reached mastery`;
  else if (/awareness-to-trial/.test(d) && s.aware_to_trial !== null)
    detail = `${pct(s.aware_to_trial)} of its ${int(s.aware + s.trial + s.regular + s.mastery)} aware users tried it`;
  else if (/mastery/.test(d) && s.regular_to_mastery !== null)
    detail = `${pct(s.regular_to_mastery)} of its regular users reached mastery`;
  return { text: d || DASH, detail };
}

async function featuresPage(r) {
  const params = asOfParams(r);
  const [f, st, names] = await Promise.all([api('features', params), api('stages', params), accountNames(r)]);
  const per = new Map();
  for (const row of f.features) {
    if (!per.has(row.feature)) per.set(row.feature, { feature: row.feature, core: row.core, users: 0, active: 0, rows: [] });
    const p = per.get(row.feature);
    p.users += row.users; p.active += row.active_users; p.rows.push(row);
  }
  const funnel = new Map(st.stages.map((s) => [s.feature, s]));
  const v = view(r);
  v.replaceChildren(el('h1', {}, 'Features'));
  const rows = [...per.values()].map((p) => ({ ...p, adoption: p.active ? p.users / p.active : null }));
  v.append(el('h2', {}, 'Adoption across accounts (users who used it in 28 days / active users)'),
    sortableTable([{ key: 'feature', label: 'Feature', render: (p) => `${p.feature}${p.core ? ' (core)' : ''}` },
      { key: 'adoption', label: 'Adoption', num: true, render: (p) => pct(p.adoption) },
      { key: 'users', label: 'Users', num: true }], rows, { sort: 'adoption', dir: 'desc' }, 'feature-table'));
  const conv = (x) => el('td', { class: 'num' }, pct(x));
  v.append(el('h2', {}, 'Stage funnel: none → aware → trial → regular → mastery'),
    el('div', { class: 'scroll' }, el('table', { id: 'funnel' },
      el('thead', {}, el('tr', {}, ['feature', 'none', 'aware', 'trial', 'regular', 'mastery', 'aware → trial', 'trial → regular', 'regular → mastery', 'diagnosis']
        .map((h, i) => el('th', { scope: 'col', class: i && i < 9 ? 'num' : null }, h)))),
      el('tbody', {}, st.stages.map((s) => {
        const d = featureDiagnosis(s);
        return el('tr', { 'data-feature': s.feature }, el('th', { scope: 'row' }, s.feature),
          ['none', 'aware', 'trial', 'regular', 'mastery'].map((k) => el('td', { class: 'num' }, int(s[k]))),
          conv(s.aware_to_trial), conv(s.trial_to_regular), conv(s.regular_to_mastery),
          el('td', { class: 'diagnosis' }, el('div', {}, d.text), d.detail ? el('div', { class: 'muted' }, d.detail) : null));
      })))));
  v.append(el('h2', {}, 'Accounts furthest behind on each core feature'));
  const behind = el('div', { id: 'behind' });
  v.append(behind);
  for (const p of rows.filter((x) => x.core)) {
    const worst = p.rows.filter((x) => x.active_users > 0).sort((a, b) => a.feature_adoption - b.feature_adoption).slice(0, 5);
    const d = featureDiagnosis(funnel.get(p.feature));
    behind.append(el('div', { class: 'card behind', 'data-feature': p.feature },
      el('h3', {}, `${p.feature}: ${worst.length} account${worst.length === 1 ? '' : 's'} furthest behind`),
      el('p', { class: 'muted diagnosis' }, `Its funnel: ${d.text}${d.detail ? ` (${d.detail})` : ''}.`),
      worst.length ? el('ol', {}, worst.map((w) => el('li', {}, accountLink(w.account_id, names.get(w.account_id)),
        ` ${pct(w.feature_adoption)} of ${int(w.active_users)} active users`)))
        : el('p', { class: 'muted' }, 'No account with active users.')));
  }
}

async function gapsPage(r) {
  const g = await api('gaps', { ...asOfParams(r), top: r.params.get('top') || 20 });
  const v = view(r);
  v.replaceChildren(el('h1', {}, 'Gaps: what was bought but is not used'),
    el('p', { class: 'muted' }, 'Ranked by the gap between licensed and active seats and between core features available and used; ARR at stake = ARR × gap.'),
    sortableTable([
      { key: 'name', label: 'Account', value: (a) => (a.name || a.account_id).toLowerCase(), render: (a) => accountLink(a.account_id, a.name) },
      { key: 'unused_seats', label: 'Unused seats', num: true, render: (a) => `${int(a.unused_seats)} of ${int(a.seats)}` },
      { key: 'unused_core_share', label: 'Core unused', num: true, render: (a) => `${a.core_features - a.core_features_used} of ${a.core_features}` },
      { key: 'gap_score', label: 'Gap', num: true, render: (a) => pct(a.gap_score) },
      { key: 'arr_at_stake', label: 'ARR at stake', num: true, render: (a) => money(a.arr_at_stake) },
      { key: 'owner', label: 'Owner' }], g.gaps, { sort: 'gap_score', dir: 'desc' }, 'gaps-table'));
}

// ---- alerts as sentences ------------------------------------------------------

// A number to 2 significant digits, without an exponent (1,200; 0.039; 83).
const sig2 = (x) => Number(x).toLocaleString('en-US', { maximumSignificantDigits: 2 });
const isNum = (x) => typeof x === 'number' && Number.isFinite(x);
// a share as a whole percentage; a share above 0 but under 1% says so
const share = (x) => (x > 0 && x < 0.005 ? 'under 1%' : `${Math.round(100 * x)}%`);
const days = (n) => `${Math.round(n)} day${Math.round(n) === 1 ? '' : 's'}`;
const plural = (n, one, many) => `${Math.round(n)} ${Math.round(n) === 1 ? one : many}`;

const ALERT_SENTENCES = {
  usage_drop: (x) => (isNum(x.wau_trend)
    ? `Weekly active users ${x.wau_trend < 0 ? 'fell' : 'rose'} ${share(Math.abs(x.wau_trend))} in 7 days` : null),
  low_platform_access: (x) => (isNum(x.breadth) && isNum(x.days_into_contract)
    ? `${x.breadth === 0 ? 'No seat' : `Only ${share(x.breadth)} of seats`} active, ${days(x.days_into_contract)} into the contract` : null),
  feature_avoidance: (x) => (isNum(x.core_unused_28d) && isNum(x.breadth)
    ? `${plural(x.core_unused_28d, 'core feature', 'core features')} unused in 28 days, though ${share(x.breadth)} of seats are active` : null),
  champion_quiet: () => 'A champion has gone quiet',
  seats_removed: (x) => (isNum(x.seats_removed_1d) ? `${share(x.seats_removed_1d)} of seats removed in a day` : null),
  onboarding_stalled: (x) => {
    const parts = [];
    if (isNum(x.milestone_overdue_days) && x.milestone_overdue_days > 0)
      parts.push(`A milestone is ${days(x.milestone_overdue_days)} overdue`);
    if (isNum(x.open_milestones) && x.open_milestones > 0)
      parts.push(`${plural(x.open_milestones, 'milestone', 'milestones')} open` +
        (isNum(x.days_since_milestone_done) ? `, none done in ${days(x.days_since_milestone_done)}` : ''));
    return parts.length ? `Onboarding stalled: ${parts.join('; ').replace(/^A /, 'a ')}` : null;
  },
  no_first_value: (x) => (isNum(x.days_into_contract)
    ? `No first value: no key action yet, ${days(x.days_into_contract)} into the contract` : 'No first value: no key action yet'),
  friction_loop: (x) => (isNum(x.friction)
    ? `Users keep hitting friction: ${sig2(x.friction)} tickets and errors per active user in 28 days`
    : 'Users keep hitting friction: many tickets and errors per active user in 28 days'),
  health_drop: (x, cfg) => (isNum(x.health_change)
    ? `Health ${x.health_change < 0 ? 'fell' : 'changed by'} ${plural(Math.abs(x.health_change), 'point', 'points')} in ${cfg.health_drop_days} days` : null),
  data_stopped: (x) => (isNum(x.hours_since_last_event)
    ? `Data stopped arriving: the last event came ${plural(x.hours_since_last_event, 'hour', 'hours')} ago` +
      `${x.last_event ? ` (${String(x.last_event).replace('T', ' ').replace('Z', ' UTC')})` : ''}; per-account alerts are on hold until it flows again`
    : null),
  renewal_at_risk: (x, cfg) => {
    if (!isNum(x.days_to_renewal)) return null;
    const when = Math.round(x.days_to_renewal) === 0 ? 'Renews today' : `Renews in ${days(x.days_to_renewal)}`;
    return isNum(x.churn_probability)
      ? `${when}; ${share(x.churn_probability)} of accounts with similar health churned within ${cfg.renewal_days} days` : when;
  },
};

// The values an alert's condition read, as an object (an API that sent them
// as a JSON string, or nothing, still gives one).
function alertValues(x) {
  let v = x.values;
  if (typeof v === 'string') { try { v = JSON.parse(v); } catch (e) { v = {}; } }
  return v && typeof v === 'object' ? v : {};
}

// An alert as a sentence: the rule's own, or (a custom rule, or a built-in
// whose condition reads other values) its name, "condition met" and the
// values to 2 significant digits.
function alertSentence(x, cfg) {
  const vals = alertValues(x);
  const own = ALERT_SENTENCES[x.rule];
  const s = own ? own(vals, cfg) : null;
  if (s) return s;
  const show = (v) => (isNum(v) ? sig2(v) : v === true ? 'yes' : v === false ? 'no' : v === null ? 'unknown' : String(v));
  const parts = Object.entries(vals).map(([k, v]) => `${k} = ${show(v)}`);
  return `${x.rule} condition met${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

const ALERT_STATES = ['active', 'open', 'acknowledged', 'snoozed', 'resolved', 'all'];
const SNOOZE_DAYS = 7;

async function alertsPage(r) {
  const stateWanted = ALERT_STATES.includes(r.params.get('state')) ? r.params.get('state') : 'active';
  const [a, tasks, names, cfg] = await Promise.all([api('alerts', { state: stateWanted }),
    api('tasks').catch(() => ({ tasks: [] })), accountNames(r), settings()]);
  const v = view(r);
  const sevs = ['critical', 'high', 'medium', 'low'];
  const counts = Object.fromEntries(sevs.map((s) => [s, a.alerts.filter((x) => x.severity === s).length]));
  v.replaceChildren(el('h1', {}, `Alerts: ${a.alerts.length} ${stateWanted === 'active' ? 'open' : stateWanted}`),
    el('div', { class: 'filters' }, el('label', {}, 'state',
      el('select', { id: 'alert-state', onchange: (e) => go('alerts', null, { ...Object.fromEntries(r.params), state: e.target.value === 'active' ? '' : e.target.value }) },
        ALERT_STATES.map((s) => el('option', { value: s, selected: s === stateWanted },
          s === 'active' ? 'open, acknowledged or snoozed' : s))))),
    el('div', { class: 'tiles' }, sevs.map((s) => tile(s, String(counts[s])))),
    el('p', { id: 'alert-status', class: 'bad', role: 'status', hidden: true }));
  const today = new Date().toISOString().slice(0, 10);
  // the store-wide alerts (data stopped arriving) first, then one table per owner
  const ownerOf = (x) => (x.account_id === '' ? 'The whole store' : x.owner || 'unassigned');
  const owners = [...new Set(a.alerts.map(ownerOf))].sort((p, q) => (p === 'The whole store' ? -1 : q === 'The whole store' ? 1 : p.localeCompare(q)));
  for (const o of owners) {
    const mine = a.alerts.filter((x) => ownerOf(x) === o);
    v.append(el('h2', {}, `${o} (${mine.length})`), el('table', { class: 'alerts' },
      el('colgroup', {}, ['sev', 'account', 'sentence', 'state', 'actions'].map((c) => el('col', { class: c }))),
      el('thead', {}, el('tr', {}, ['Severity', 'Account', 'What happened', 'State', ''].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, mine.map((x) => {
        const name = names.get(x.account_id) || x.account_id;
        // a week from today, or from the alert's last day if that is later
        // (a store whose data runs ahead of the clock)
        const base = x.updated_at && x.updated_at > today ? x.updated_at : today;
        const until = addDays(base, SNOOZE_DAYS);
        const acts = x.state === 'resolved' ? []
          : [x.state !== 'acknowledged' ? ['ack', 'Acknowledge', null] : null,
            ['snooze', `Snooze ${SNOOZE_DAYS} days`, until], ['resolve', 'Resolve', null]].filter((y) => y);
        const stateText = x.state === 'snoozed' && x.snoozed_until ? `until ${x.snoozed_until}`
          : x.state === 'resolved' ? `on ${x.resolved_at || DASH}` : `opened ${x.opened_at}`;
        return el('tr', { 'data-alert': x.id },
          el('td', { class: `sev-${x.severity}` }, x.severity),
          el('td', { class: 'account' }, x.account_id === '' ? 'All accounts' : accountLink(x.account_id, name)),
          el('td', { class: 'sentence', title: `${x.rule}: ${x.condition}` }, alertSentence(x, cfg.alert_settings)),
          el('td', { class: 'state' }, el('div', {}, x.state), el('div', { class: 'muted' }, stateText)),
          el('td', { class: 'actions' }, acts.map(([act, label, day]) => el('button', {
            type: 'button', 'data-action': act, title: day ? `until ${day}` : null,
            'aria-label': `${label}: ${x.rule.replace(/_/g, ' ')} at ${name}`,
            onclick: () => alertAction(x.id, act, day) }, label))));
      }))));
  }
  if (!a.alerts.length) v.append(el('p', { class: 'muted', id: 'alerts-empty' }, 'No alerts in this state.'));
  v.append(el('h2', {}, `Tasks for account owners (${tasks.tasks.length} open)`),
    tasks.tasks.length ? el('table', { id: 'tasks', class: 'alerts' }, el('tbody', {}, tasks.tasks.map((t) => el('tr', {},
      el('td', {}, t.owner || 'unassigned'), el('td', { class: 'sentence' }, t.title),
      el('td', { class: 'account' }, accountLink(t.account_id, names.get(t.account_id))),
      el('td', {}, `due ${t.due || DASH}`)))))
      : el('p', { class: 'muted' }, 'No open tasks (playbooks with a task create them when alerts open).'));
}

async function alertAction(id, action, until) {
  const q = action === 'snooze' ? `?until=${encodeURIComponent(until)}` : '';
  let res = null;
  try {
    res = await fetch(`/api/v1/alerts/${encodeURIComponent(id)}/${action}${q}`, { method: 'POST', credentials: 'same-origin' });
  } catch (e) { /* the network: said below */ }
  if (!res || !res.ok) {
    let why = res ? `HTTP ${res.status}` : 'no answer from the server';
    try { why = (await res.json()).error || why; } catch (e) { /* not JSON */ }
    const status = $('#alert-status');
    if (status) { status.textContent = `Could not ${action} alert #${id}: ${why}`; status.hidden = false; }
    return;
  }
  render();
}

// ---- renewals -------------------------------------------------------------------

const DAY_MS = 86400000;
const addDays = (d, n) => new Date(Date.parse(`${d}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
const pct1 = (v) => (v === null || v === undefined ? DASH : `${(100 * v).toFixed(1)}%`);
const RENEWAL_WINDOWS = [30, 60, 90, 180];
const RETENTION_HORIZON = 90;   // days: the cohort starts this long before the as-of date
const BACKTEST_DAYS = 365;      // the backtest's window ends at the as-of date
const BACKTEST_HORIZON = 90;

// the health band of the backtest's calibration (backtest.c up_backtest_band)
const BANDS = ['0-20', '20-40', '40-60', '60-80', '80-100'];
const bandOf = (h) => (h === null || h === undefined ? '(none)' : BANDS[Math.max(0, Math.min(4, Math.floor(h / 20)))]);

// The ROC of health from the calibration by health band: flag the lowest
// bands first; each point is (retained flagged / all retained, churned
// flagged / all churned) after one more band. Null without both outcomes.
function rocByBand(bands) {
  const rows = bands.filter((b) => b.group !== '(none)' && b.rows > 0)
    .sort((a, b) => parseFloat(a.group) - parseFloat(b.group));
  const churned = rows.reduce((n, b) => n + b.churned, 0);
  const retained = rows.reduce((n, b) => n + b.rows - b.churned, 0);
  if (!churned || !retained) return null;
  const points = [{ x: 0, y: 0, label: 'flag no one' }];
  let c = 0, t = 0, area = 0;
  for (const b of rows) {
    const x0 = t / retained, y0 = c / churned;
    c += b.churned; t += b.rows - b.churned;
    const x = t / retained, y = c / churned;
    area += ((x - x0) * (y + y0)) / 2;
    points.push({ x, y, label: `flag health below ${b.group.split('-')[1]}` });
  }
  return { points, area, churned, retained };
}

function simpleTable(id, heads, rows) {
  return el('table', { id, class: 'compact' },
    el('thead', {}, el('tr', {}, heads.map((h) => el('th', { scope: 'col', class: h.num ? 'num' : null }, h.label)))),
    el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c, i) => el('td', { class: heads[i].num ? 'num' : null }, c))))));
}

async function renewalsPage(r) {
  const days = Number(r.params.get('days')) || 90;
  const [ren] = await Promise.all([api('renewals', { ...asOfParams(r), days }), loadChart()]);
  const asOf = ren.as_of.slice(0, 10);
  const at = addDays(asOf, -RETENTION_HORIZON), from = addDays(asOf, -BACKTEST_DAYS);
  // a report that cannot be made (400, e.g. not enough history) becomes a
  // sentence in its section; being signed out still ends the page
  const failed = (e) => { if (e instanceof SignInNeeded) throw e; return { error: e.message }; };
  const [ret, bt] = await Promise.all([
    api('retention', { at, horizon: RETENTION_HORIZON, by: 'level' }).catch(failed),
    api('backtest', { from, to: asOf, horizon: BACKTEST_HORIZON }).catch(failed)]);
  const v = view(r);

  // upcoming renewals
  const windows = RENEWAL_WINDOWS.includes(days) ? RENEWAL_WINDOWS : [...RENEWAL_WINDOWS, days].sort((a, b) => a - b);
  const n = ren.renewals.length;
  v.replaceChildren(el('h1', {}, `Renewals: ${n} in the next ${ren.days} days`),
    el('div', { class: 'filters' }, el('label', {}, 'renewing within',
      el('select', { id: 'renewal-days', onchange: (e) => go('renewals', null, { ...Object.fromEntries(r.params.entries()), days: e.target.value }) },
        windows.map((d) => el('option', { value: d, selected: d === days }, `${d} days`))))),
    el('p', { class: 'lead', id: 'renewals-totals' },
      `${money(ren.total_arr)} renewing in ${ren.days} days, ${money(ren.total_arr_at_risk)} at risk`),
    el('p', { class: 'muted', id: 'renewals-source' }, ren.calibration
      ? `Churn probability: the share of the account's health band that churned within ${ren.calibration.horizon} days in the backtest ` +
        `from ${ren.calibration.from} to ${ren.calibration.to} (${ren.calibration.snapshots} month-end snapshot${ren.calibration.snapshots === 1 ? '' : 's'}); ` +
        `“of N” is how many account-snapshots the band had. ARR at risk = ARR × probability.` +
        (ren.unknown_probability ? ` ${ren.unknown_probability} renewal${ren.unknown_probability === 1 ? ' has' : 's have'} no probability: no history in that health band.` : '')
      : 'No backtest to take a churn probability from.'));
  if (!n) v.append(el('p', { class: 'muted', id: 'renewals-empty' }, `No renewals in the next ${ren.days} days.`));
  else {
    const order = new Map(ren.renewals.map((x, i) => [x, i]));
    v.append(el('div', { class: 'scroll' }, sortableTable([
      { key: 'renewal_date', label: 'Renews', value: (x) => order.get(x), render: (x) => `${x.renewal_date || DASH} (in ${int(x.days_to_renewal)} d)` },
      { key: 'name', label: 'Account', value: (x) => (x.name || x.account_id).toLowerCase(), render: (x) => accountLink(x.account_id, x.name) },
      { key: 'owner', label: 'Owner' },
      { key: 'arr', label: 'ARR', num: true, render: (x) => money(x.arr) },
      { key: 'health', label: 'Health', num: true, render: (x) => fix(x.health) },
      { key: 'level', label: 'Level', value: (x) => ({ low: 0, high: 1, effective: 2 }[x.level]), render: (x) => (x.level ? levelBadge(x.level) : DASH) },
      { key: 'wau_trend', label: 'WAU trend', num: true, render: (x) => (x.wau_trend === null ? DASH : `${x.wau_trend > 0 ? '+' : ''}${pct(x.wau_trend)}`) },
      { key: 'open_alerts', label: 'Open alerts', num: true },
      { key: 'churn_probability', label: 'P(churn)', num: true, render: (x) => (x.churn_probability === null
        ? el('span', { title: `no history in health band ${bandOf(x.health)}: the backtest had no account-snapshot there` }, DASH)
        : el('span', { title: `the churn rate of health band ${bandOf(x.health)} in the backtest` }, `${pct1(x.churn_probability)} of ${int(x.probability_rows)}`)) },
      { key: 'arr_at_risk', label: 'ARR at risk', num: true, render: (x) => money(x.arr_at_risk) },
    ], ren.renewals, { sort: 'renewal_date', dir: 'asc' }, 'renewals-table')));
  }

  // retention by level: a cohort old enough that its outcome is known
  const rs = el('section', { id: 'retention' }, el('h2', {}, 'Retention by adoption level'));
  v.append(rs);
  if (ret.error) rs.append(el('p', { class: 'bad', id: 'retention-error' }, `No retention report for ${at}: ${ret.error}`));
  else {
    rs.append(el('p', { class: 'muted' }, `The customers at the end of ${at} by their adoption level then, followed ${ret.horizon} days to ${ret.until} ` +
      `(${RETENTION_HORIZON} days before the as-of date, so every outcome is known). Logo retention: the share still customers; NRR: ARR at the end over ARR at the start.`));
    if (!ret.retention.length) rs.append(el('p', { class: 'muted', id: 'retention-empty' }, `No customers at the end of ${at}: no cohort to follow.`));
    else {
      const c = el('canvas', { id: 'chart-retention', role: 'img', 'aria-label': 'logo retention and NRR by adoption level' });
      rs.append(el('div', { class: 'card narrow' }, el('div', { class: 'chart' }, c),
        el('div', { class: 'scroll' }, simpleTable('retention-table',
          [{ label: 'Level' }, { label: 'Accounts', num: true }, { label: 'Churned', num: true }, { label: 'Logo retention', num: true },
            { label: 'ARR start', num: true }, { label: 'ARR end', num: true }, { label: 'NRR', num: true }, { label: 'GRR', num: true }],
          ret.retention.map((g) => [g.group, int(g.accounts), int(g.churned), pct1(g.logo_retention), money(g.arr_start), money(g.arr_end), pct1(g.nrr), pct1(g.grr)])))));
      const as100 = (x) => (x === null ? null : 100 * x);
      drawChart(c, {
        type: 'bar',
        data: { labels: ret.retention.map((g) => g.group), datasets: [
          { label: 'logo retention', data: ret.retention.map((g) => as100(g.logo_retention)), backgroundColor: COLORS[0] },
          { label: 'NRR', data: ret.retention.map((g) => as100(g.nrr)), backgroundColor: COLORS[2] }] },
        options: { animation: false, responsive: true, maintainAspectRatio: false,
          scales: { y: { beginAtZero: true, ticks: { callback: (x) => `${x}%` } } },
          plugins: { tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${ctx.raw === null ? DASH : ctx.raw.toFixed(1) + '%'}` } } } },
      });
    }
  }

  // the backtest: did health predict churn over the last year?
  const bs = el('section', { id: 'backtest' }, el('h2', {}, 'Backtest: did health predict churn?'));
  v.append(bs);
  if (bt.error) { bs.append(el('p', { class: 'bad', id: 'backtest-error' }, `No backtest for ${from} to ${asOf}: ${bt.error}`)); return; }
  bs.append(el('p', { class: 'muted' }, `Month-end snapshots of the ${BACKTEST_DAYS} days up to the as-of date (${bt.from} to ${bt.to}) whose ` +
    `${bt.horizon}-day outcome is known: ${int(bt.rows)} account-snapshots in ${bt.snapshots.length} snapshots, ${int(bt.churned)} churned within ${bt.horizon} days.`));
  const h = bt.scores.find((s) => s.score === 'health');
  bs.append(el('p', { class: 'statement', id: 'backtest-auc' }, !h ? 'The backtest has no health score.'
    : h.auc === null ? `Health's AUC is unknown: the backtest has ${int(h.churned)} churned and ${int(h.retained)} retained account-snapshots with a health, and needs both.`
      : `Health's AUC is ${fix(h.auc, 2)}${h.auc_low === null ? ' (no confidence interval: too few rows)' : ` (95% CI ${fix(h.auc_low, 2)}–${fix(h.auc_high, 2)})`}` +
        ` over ${int(h.churned)} churned and ${int(h.retained)} retained account-snapshots${h.left_out ? ` (${int(h.left_out)} without a health left out)` : ''}: ` +
        `the chance that, of a churned and a retained account, the churned one had the lower health (0.5 is a coin toss).` +
        (h.auc < 0.5 ? ` Below 0.5, health pointed the wrong way in this history: ${h.direction}.` : '')));
  const roc = rocByBand(bt.calibration.health_band);
  const rocCard = el('div', { class: 'card', id: 'roc' }, el('h3', {}, 'ROC of health by band (coarse)'));
  if (!roc) rocCard.append(el('p', { class: 'muted', id: 'roc-empty' }, 'No ROC curve: it needs account-snapshots that churned and ones that did not, with a health.'));
  else {
    const c = el('canvas', { id: 'chart-roc', role: 'img', 'aria-label': 'ROC curve of health by health band' });
    rocCard.append(el('div', { class: 'chart roc' }, c), el('p', { class: 'muted' },
      `Flagging the lowest health bands first (below 20, 40, …): each point is the share of retained account-snapshots flagged (x) ` +
      `and of churned ones caught (y). Within a band the order is unknown, so the points are joined by straight lines; ` +
      `the area under them is ${fix(roc.area, 2)}${h && h.auc !== null ? ` (health's AUC from every row: ${fix(h.auc, 2)})` : ''}. Dashed: chance.`));
    drawChart(c, {
      type: 'scatter',
      data: { datasets: [
        { label: 'health by band', data: roc.points, showLine: true, tension: 0, borderColor: COLORS[0], backgroundColor: COLORS[0], pointRadius: 4, borderWidth: 2, clip: 6 },
        { label: 'chance', data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, borderColor: COLORS[3], borderDash: [4, 3], pointRadius: 0, borderWidth: 1 }] },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
        scales: { x: { min: 0, max: 1, title: { display: true, text: 'retained flagged (false-positive rate)' } },
          y: { min: 0, max: 1, title: { display: true, text: 'churned caught (true-positive rate)' } } },
        plugins: { tooltip: { callbacks: { label: (ctx) => (ctx.raw.label ? `${ctx.raw.label}: ${pct(ctx.raw.y)} of churned, ${pct(ctx.raw.x)} of retained` : 'chance') } } } },
    });
  }
  bs.append(el('div', { class: 'grid2' }, rocCard,
    el('div', { class: 'card' }, el('h3', {}, 'Churn rate by health band'),
      simpleTable('calibration-health', [{ label: 'Health band' }, { label: 'Account-snapshots', num: true }, { label: 'Churned', num: true }, { label: 'Churn rate', num: true }],
        bt.calibration.health_band.map((b) => [b.group === '(none)' ? 'no health' : b.group, int(b.rows), int(b.churned), pct1(b.rate)])),
      el('p', { class: 'muted' }, 'These rates are the renewals’ churn probabilities.'))));
  bs.append(el('h3', {}, 'What predicted churn best (top 10 of every score, by distance of the AUC from 0.5)'),
    el('div', { class: 'scroll' }, simpleTable('backtest-drivers',
      [{ label: 'Score' }, { label: 'AUC', num: true }, { label: '95% CI', num: true }, { label: 'Churned / retained', num: true },
        { label: 'Lift', num: true }, { label: 'Direction' }],
      bt.scores.slice(0, 10).map((s) => [s.score, fix(s.auc, 2), s.auc_low === null ? DASH : `${fix(s.auc_low, 2)}–${fix(s.auc_high, 2)}`,
        `${int(s.churned)} / ${int(s.retained)}`, s.lift === null ? DASH : `${fix(s.lift, 1)}×`,
        s.direction || (s.auc === null ? 'nothing to judge by' : DASH)]))));
}

// ---- shell --------------------------------------------------------------------

const PAGES = { portfolio, account, features: featuresPage, gaps: gapsPage, alerts: alertsPage, renewals: renewalsPage };

// The day of the store's last event (GET /api/v1/status), asked once. With
// no as_of in the address and that day more than two days before today, the
// dashboard shows that day instead of today's empty numbers, and says so.
let lastEventDay;   // undefined: not asked yet; null: no events, or not readable
let autoAsOf = null;  // the as_of the dashboard chose itself
async function staleDay() {
  if (lastEventDay === undefined) {
    try {
      lastEventDay = (await api('status')).last_event_day || null;
    } catch (e) {
      if (e instanceof SignInNeeded) throw e;
      lastEventDay = null;
    }
  }
  if (!lastEventDay) return null;
  const days = (Date.parse(new Date().toISOString().slice(0, 10)) - Date.parse(lastEventDay)) / 86400000;
  return days > 2 ? lastEventDay : null;
}

async function render() {
  const r = route();
  const banner = $('#stale');
  banner.hidden = !(autoAsOf && r.params.get('as_of') === autoAsOf);
  banner.textContent = banner.hidden ? ''
    : `The data ends on ${autoAsOf}, more than two days ago: the dashboard shows that day. Pick another date above.`;
  rendering = r;
  // the pages in the nav (and the brand) keep the as-of date the URL has
  for (const a of document.querySelectorAll('nav a')) {
    a.setAttribute('aria-current', a.dataset.page === r.page ? 'page' : 'false');
    a.setAttribute('href', hashFor(a.dataset.page));
  }
  $('a.brand').setAttribute('href', hashFor('portfolio'));
  // the date box shows the day in use: the URL's, or today's (the API's now)
  $('#asof').value = dayInUse(r.params.get('as_of'));
  $('#asof').title = r.params.get('as_of') ? `as of the end of ${$('#asof').value} (UTC)` : 'as of now: pick a day to see the past';
  $('#signin').hidden = true;
  $('form.logout').hidden = false;
  view().replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  window.uptakeReady = false;   // a page sets it once it is usable (tests and benchmarks wait for it)
  const generation = (window.uptakeRender = (window.uptakeRender || 0) + 1);
  try {
    await (PAGES[r.page] || portfolio)(r);
    document.title = `uptake — ${r.page}${r.arg ? ' ' + r.arg : ''}`;
  } catch (e) {
    if (e instanceof Stale || r !== rendering) return;   // a newer render owns the page
    if (e instanceof SignInNeeded) {
      view().replaceChildren();
      $('#signin').hidden = false;
      $('form.logout').hidden = true;   // nothing to sign out of
      $('#signin-failed').hidden = !location.search.includes('signin=failed');
      $('#signin input').focus();
    } else {
      view().replaceChildren(el('p', { class: 'bad' }, `Could not load this page: ${e.message}`));
    }
  }
  if (generation === window.uptakeRender && !window.uptakeRefined) window.uptakeReady = true;
  window.uptakeRefined = false;
}

document.addEventListener('DOMContentLoaded', () => {
  $('#asof').addEventListener('change', () => {
    const r = route();
    // an emptied box goes back to now
    go(r.page, r.arg, { ...Object.fromEntries(r.params.entries()), as_of: $('#asof').value || '' });
  });
  window.addEventListener('hashchange', render);
  staleDay().then((d) => { autoAsOf = d; }, () => {}).finally(render);
});
