// uptake dashboard: a hash-routed page over the JSON API (docs/api.md).
// Invariants: every value from the data reaches the DOM through textContent or
// an attribute, never as HTML; every link and request carries the as-of date
// of the URL, so any page is shareable by its address; the portfolio draws
// only the rows in view, so 10,000 accounts cost what 40 do.
'use strict';

const $ = (sel) => document.querySelector(sel);
const view = () => $('#view');

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

// ---- numbers as text (docs/metrics.md names them) ------------------------------

const DASH = '–';
const none = (v) => v === null || v === undefined || Number.isNaN(v);
const pct = (v) => (none(v) ? DASH : `${(100 * v).toFixed(0)}%`);
const fix = (v, d = 1) => (none(v) ? DASH : Number(v).toFixed(d));
const int = (v) => (none(v) ? DASH : Math.round(v).toLocaleString('en-US'));
const money = (v) => (none(v) ? DASH : `$${Math.round(v).toLocaleString('en-US')}`);
const signed = (v, d = 1) => (none(v) ? DASH : `${v > 0 ? '+' : ''}${Number(v).toFixed(d)}`);
const signedPct = (v) => (none(v) ? DASH : `${v > 0 ? '+' : ''}${(100 * v).toFixed(0)}%`);
const plural = (n, word) => `${int(n)} ${word}${n === 1 ? '' : 's'}`;
const day = (iso) => (iso ? String(iso).slice(0, 10) : null);

const LEVELS = ['low', 'high', 'effective'];
const LEVEL_ICON = { low: '▼', high: '●', effective: '★' };
function levelBadge(level) {
  if (!level) return el('span', { class: 'muted' }, DASH);
  return el('span', { class: `level ${level}`, title: `adoption level: ${level}` }, `${LEVEL_ICON[level] || ''} ${level}`);
}

// ---- routing: #/page[/arg]?as_of=YYYY-MM-DD&… ----------------------------------

function route() {
  const h = location.hash.replace(/^#\/?/, '') || 'portfolio';
  const q = h.indexOf('?');
  const path = q < 0 ? h : h.slice(0, q);
  const parts = path.split('/').map((s) => { try { return decodeURIComponent(s); } catch (e) { return s; } });
  return { page: parts[0] || 'portfolio', arg: parts[1] || null, params: new URLSearchParams(q < 0 ? '' : h.slice(q + 1)) };
}

let routeAsOf = null;   // the as-of date of the URL being shown; null = now

// The address of a page, with the as-of date of the page shown now.
function hashFor(page, arg, params) {
  const p = new URLSearchParams();
  if (routeAsOf) p.set('as_of', routeAsOf);
  for (const [k, v] of Object.entries(params || {})) if (v !== '' && v !== null && v !== undefined) p.set(k, v);
  const q = p.toString();
  return `#/${page}${arg ? '/' + encodeURIComponent(arg) : ''}${q ? '?' + q : ''}`;
}
const accountLink = (id, text) => el('a', { href: hashFor('account', id) }, text || id);

function addDays(iso, n) {
  const d = new Date(iso + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// ---- the API ------------------------------------------------------------------

class SignInNeeded extends Error {}

async function api(path, params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== null && v !== undefined && v !== '') p.set(k, v);
  const q = p.toString();
  const res = await fetch(`/api/v1/${path}${q ? '?' + q : ''}`, { credentials: 'same-origin' });
  if (res.status === 401) throw new SignInNeeded();
  let body;
  try { body = await res.json(); } catch (e) { throw new Error(`HTTP ${res.status} from /api/v1/${path}`); }
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  // the page shows the instant the server computed for (now, when the URL has no date)
  if (body.as_of && !routeAsOf && !p.has('as_of')) $('#asof').value = day(body.as_of);
  return body;
}
const asOf = () => (routeAsOf ? { as_of: routeAsOf } : {});

// ---- tables ---------------------------------------------------------------------

function compareBy(value, dir) {
  return (a, b) => {
    const x = value(a), y = value(b);
    if (x === y) return 0;
    if (none(x)) return 1;    // no value: last, whichever the direction
    if (none(y)) return -1;
    return (x < y ? -1 : 1) * dir;
  };
}

function sortHeader(th, key, state, onSort) {
  const toggle = () => {
    state.dir = state.sort === key && state.dir === 'asc' ? 'desc' : state.sort === key ? 'asc' : (th.dataset.first || 'asc');
    state.sort = key;
    onSort();
  };
  th.setAttribute('tabindex', '0');
  th.addEventListener('click', toggle);
  th.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(); } });
}

function cellOf(c, r) {
  const td = document.createElement('td');
  if (c.num) td.className = 'num';
  if (c.cls) td.className += ` ${c.cls(r) || ''}`;
  if (c.tip) td.title = c.tip(r) || '';
  const v = c.render ? c.render(r) : r[c.key];
  if (v instanceof Node) td.appendChild(v);
  else td.textContent = none(v) ? DASH : String(v);
  return td;
}

// A small sortable table, every row drawn: columns [{key, label, num, render,
// value, first: 'desc'}].
function sortableTable(columns, rows, state, id) {
  const head = el('tr');
  const body = el('tbody');
  const draw = () => {
    const col = columns.find((c) => c.key === state.sort) || columns[0];
    const sorted = rows.slice().sort(compareBy(col.value || ((r) => r[col.key]), state.dir === 'desc' ? -1 : 1));
    for (const th of head.children)
      th.setAttribute('aria-sort', th.dataset.key === col.key ? (state.dir === 'desc' ? 'descending' : 'ascending') : 'none');
    body.replaceChildren(...sorted.map((r) => el('tr', {}, columns.map((c) => cellOf(c, r)))));
  };
  for (const c of columns) {
    const th = el('th', { scope: 'col', class: c.num ? 'num' : null, 'data-key': c.key, 'data-first': c.first || null }, c.label);
    sortHeader(th, c.key, state, draw);
    head.appendChild(th);
  }
  draw();
  return el('table', { id }, el('thead', {}, head), body);
}

// A table that draws only the rows in view (and a margin): rows have one
// height and columns fixed widths (.vt in style.css), so the rows above and
// below the view are two spacers of known height. Rows that stay in view are
// kept, not redrawn, so the focus stays on a link while the keyboard scrolls.
function virtualTable({ id, label, columns, state, onSort }) {
  const scroller = el('div', { class: 'vscroll', tabindex: '0', role: 'region', 'aria-label': label });
  const head = el('tr', { 'aria-rowindex': '1' });
  const body = el('tbody');
  const span = columns.length;
  const topPad = el('td', { colspan: span }), bottomPad = el('td', { colspan: span });
  const top = el('tr', { class: 'pad', 'aria-hidden': 'true' }, topPad);
  const bottom = el('tr', { class: 'pad', 'aria-hidden': 'true' }, bottomPad);
  const table = el('table', { id, class: 'vt', 'aria-rowcount': '1' },
    el('colgroup', {}, columns.map((c) => el('col', { class: `c-${c.key}` }))), el('thead', {}, head), body);
  scroller.appendChild(table);
  body.append(top, bottom);
  for (const c of columns) {
    const th = el('th', { scope: 'col', class: c.num ? 'num' : null, 'data-key': c.key, 'data-first': c.first || null, title: c.title || null }, c.label);
    if (c.sortable !== false) sortHeader(th, c.key, state, onSort);
    head.appendChild(th);
  }
  let rows = [], rowH = 34, first = 0, last = 0, measured = false, queued = false;
  const live = new Map();   // row index -> <tr> in the DOM
  const rowOf = (r, i) => {
    const tr = document.createElement('tr');
    tr.setAttribute('aria-rowindex', String(i + 2));
    for (const c of columns) tr.appendChild(cellOf(c, r));
    return tr;
  };
  const paint = (force) => {
    queued = false;
    const viewH = scroller.clientHeight || window.innerHeight;
    const from = Math.max(0, Math.floor(scroller.scrollTop / rowH) - 15);
    const to = Math.min(rows.length, Math.ceil((scroller.scrollTop + viewH) / rowH) + 15);
    if (force) { for (const tr of live.values()) tr.remove(); live.clear(); }
    else if (from === first && to === last) return;
    for (const [i, tr] of live) if (i < from || i >= to) { tr.remove(); live.delete(i); }
    // rows before the first kept one, then rows after the last kept one
    const keptFirst = live.size ? Math.max(from, first) : to;
    const before = document.createDocumentFragment();
    for (let i = from; i < keptFirst; i++) { const tr = rowOf(rows[i], i); live.set(i, tr); before.appendChild(tr); }
    top.after(before);
    const keptEnd = live.size ? Math.min(to, last) : to;
    const after = document.createDocumentFragment();
    for (let i = Math.max(keptEnd, keptFirst); i < to; i++) { const tr = rowOf(rows[i], i); live.set(i, tr); after.appendChild(tr); }
    bottom.before(after);
    first = from; last = to;
    topPad.style.height = `${from * rowH}px`;
    bottomPad.style.height = `${(rows.length - to) * rowH}px`;
    top.hidden = from === 0;
    bottom.hidden = to === rows.length;
    if (!measured && live.size) {   // the real row height, once drawn
      measured = true;
      const h = live.get(from).getBoundingClientRect().height;
      if (h > 0 && Math.abs(h - rowH) > 0.5) { rowH = h; paint(true); }
    }
  };
  scroller.addEventListener('scroll', () => { if (!queued) { queued = true; requestAnimationFrame(() => paint(false)); } });
  window.addEventListener('resize', () => paint(false));
  return {
    node: scroller,
    setRows(newRows, keepScroll) {
      rows = newRows;
      table.setAttribute('aria-rowcount', String(rows.length + 1));
      const col = columns.find((c) => c.key === state.sort);
      for (const th of head.children)
        th.setAttribute('aria-sort', col && th.dataset.key === col.key ? (state.dir === 'desc' ? 'descending' : 'ascending') : 'none');
      if (!keepScroll) scroller.scrollTop = 0;
      paint(true);
    },
  };
}

function tile(label, value, extra, attrs) {
  return el(attrs && attrs.onclick ? 'button' : 'div', { type: attrs && attrs.onclick ? 'button' : null, class: 'tile', ...(attrs || {}) },
    el('span', { class: 'label' }, label), el('span', { class: 'value' }, value), extra || null);
}

// ---- charts (Chart.js from Debian, loaded only where a chart is drawn) -------------

let chartLoading = null;
function loadChart() {
  if (window.Chart) return Promise.resolve();
  if (!chartLoading)
    chartLoading = new Promise((resolve) => {
      const sc = document.createElement('script');
      sc.src = '/assets/chart.min.js';
      sc.onload = resolve;
      sc.onerror = resolve;   // no charts then; every number is also in a tile or table
      document.head.appendChild(sc);
    });
  return chartLoading;
}

const SERIES_COLOURS = ['#175cd3', '#b54708', '#067647', '#667085'];
function lineChart(canvas, labels, datasets, opts) {
  loadChart().then(() => {
    if (!window.Chart || !canvas.isConnected) return;
    const spark = opts && opts.spark;
    // eslint-disable-next-line no-new
    new window.Chart(canvas, {
      type: 'line',
      // the second series is dashed, so the lines differ by more than colour
      data: { labels, datasets: datasets.map((d, i) => ({ pointRadius: 0, borderWidth: spark ? 1.5 : 2, tension: 0.2,
        borderColor: SERIES_COLOURS[i % 4], backgroundColor: SERIES_COLOURS[i % 4], borderDash: i % 2 ? [5, 3] : [], ...d })) },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { display: !spark, labels: { boxHeight: 2 } }, tooltip: { enabled: !spark } },
        scales: spark ? { x: { display: false }, y: { display: false, beginAtZero: true } }
          : { x: { ticks: { maxTicksLimit: 10, maxRotation: 0 } }, y: { beginAtZero: true } } },
    });
  });
}

// ---- portfolio ---------------------------------------------------------------------

// Needs attention (issue 5): a low level, health down 15 or more in 28 days,
// or WAU down 30% or more on the week before. The reasons, as words.
function attentionReasons(a) {
  const why = [];
  if (a.level === 'low') why.push('low level');
  if (!none(a.health_change) && a.health_change <= -15) why.push(`health ${signed(a.health_change, 0)}`);
  if (!none(a.wau_trend) && a.wau_trend <= -0.3) why.push(`WAU ${signedPct(a.wau_trend)}`);
  return why;
}

const PORTFOLIO_COLUMNS = [
  { key: 'name', label: 'Account', value: (a) => (a.name || a.account_id).toLowerCase(),
    render: (a) => accountLink(a.account_id, a.name || a.account_id), tip: (a) => `${a.name || ''} (${a.account_id})` },
  { key: 'level', label: 'Level', value: (a) => LEVELS.indexOf(a.level), render: (a) => levelBadge(a.level) },
  { key: 'health', label: 'Health', num: true, render: (a) => fix(a.health) },
  { key: 'health_change', label: 'Health Δ 28 d', title: 'health now minus health 28 days earlier', num: true,
    render: (a) => (a.health_change === undefined ? '…' : none(a.health_change) ? DASH
      : `${a.health_change <= -15 ? '▼ ' : a.health_change >= 15 ? '▲ ' : ''}${signed(a.health_change)}`),
    cls: (a) => (!none(a.health_change) && a.health_change <= -15 ? 'bad' : '') },
  { key: 'breadth', label: 'Breadth', num: true, render: (a) => pct(a.breadth) },
  { key: 'depth', label: 'Depth', num: true, render: (a) => pct(a.depth) },
  { key: 'stickiness', label: 'Sticky', title: 'stickiness: average DAU / MAU over 28 days', num: true, render: (a) => pct(a.stickiness) },
  { key: 'wau_trend', label: 'WAU trend', title: 'WAU against the week before', num: true, render: (a) => signedPct(a.wau_trend),
    cls: (a) => (!none(a.wau_trend) && a.wau_trend <= -0.3 ? 'bad' : '') },
  { key: 'ttfv_days', label: 'TTFV', title: 'days from contract start to the first key action', num: true,
    render: (a) => (none(a.ttfv_days) ? DASH : `${a.ttfv_days} d`) },
  { key: 'active_users', label: 'Seats used', title: 'active users (28 days) / licensed seats', num: true,
    render: (a) => `${int(a.active_users)} / ${int(a.seats)}` },
  { key: 'arr', label: 'ARR', num: true, first: 'desc', render: (a) => money(a.arr) },
  { key: 'renewal_date', label: 'Renewal' },
  { key: 'owner', label: 'Owner', value: (a) => (a.owner || '').toLowerCase() || null },
  { key: 'attention', label: 'Needs attention', value: (a) => a.reasons.length || null, first: 'desc',
    render: (a) => (a.reasons.length ? `⚑ ${a.reasons.join(', ')}` : ''), cls: () => 'why', tip: (a) => a.reasons.join(', ') },
];

async function portfolio(r) {
  const now = await api('accounts', { ...asOf(), compact: 1 });
  const asof = day(now.as_of);
  const rows = now.accounts;
  for (const a of rows) { a.health_change = undefined; a.reasons = attentionReasons(a); }
  const p = r.params;
  const filt = { q: p.get('q') || '', segment: p.get('segment') || '', owner: p.get('owner') || '',
    level: p.get('level') || '', attention: p.get('attention') || '' };
  const state = { sort: p.get('sort') || 'health', dir: p.get('dir') === 'desc' ? 'desc' : 'asc' };

  // the filters and the sort live in the address, so a view is shareable
  const remember = () => history.replaceState(null, '', hashFor('portfolio', null,
    { ...filt, sort: state.sort === 'health' ? '' : state.sort, dir: state.dir === 'asc' ? '' : state.dir }));

  const v = view();
  const title = el('h1', {}, `Portfolio: ${int(rows.length)} accounts`, el('span', { class: 'muted small' }, ` as of ${asof}`));
  const tiles = el('div', { class: 'tiles', id: 'tiles' });
  const count = el('p', { class: 'muted', id: 'shown', 'aria-live': 'polite' });
  const uniq = (k) => [...new Set(rows.map((a) => a[k]).filter((x) => x))].sort();
  const controls = {};
  const select = (name, label, options) => {
    const s = el('select', { 'data-filter': name, onchange: (e) => { filt[name] = e.target.value; update(); } },
      el('option', { value: '' }, 'all'), options.map(([value, text]) => el('option', { value, selected: filt[name] === value }, text)));
    controls[name] = s;
    return el('label', {}, label, s);
  };
  let typing = null;
  const search = el('input', { type: 'search', value: filt.q, 'data-filter': 'q', placeholder: 'name or id',
    oninput: (e) => { clearTimeout(typing); typing = setTimeout(() => { filt.q = e.target.value; update(); }, 120); } });
  controls.q = search;
  const filters = el('div', { class: 'filters', role: 'search' },
    el('label', {}, 'Search', search),
    select('segment', 'Segment', uniq('segment').map((s) => [s, s])),
    select('owner', 'Owner', uniq('owner').map((s) => [s, s])),
    select('level', 'Level', LEVELS.map((l) => [l, `${LEVEL_ICON[l]} ${l}`])),
    select('attention', 'Needs attention', [['yes', 'yes']]),
    el('button', { type: 'button', class: 'plain', onclick: () => {
      for (const k of Object.keys(filt)) { filt[k] = ''; controls[k].value = ''; }
      update();
    } }, 'Clear filters'));
  const table = virtualTable({ id: 'portfolio-table', label: 'accounts', columns: PORTFOLIO_COLUMNS, state,
    onSort: () => update(true) });
  v.replaceChildren(title, tiles, filters, count, table.node,
    el('p', { class: 'muted small' }, 'Click a column title (or focus it and press Enter) to sort; the table scrolls inside its frame.'));

  const setFilter = (name, value) => { filt[name] = value; controls[name].value = value; update(); };
  const drawTiles = () => {
    const n = { low: 0, high: 0, effective: 0 }, arr = { low: 0, high: 0, effective: 0 };
    let total = 0;
    for (const a of rows) if (a.level in n) { n[a.level]++; arr[a.level] += a.arr || 0; total += a.arr || 0; }
    const share = (x, of) => (of ? ` (${Math.round((100 * x) / of)}%)` : '');
    const need = rows.filter((a) => a.reasons.length).length;
    tiles.replaceChildren(
      ...['effective', 'high', 'low'].map((l) => tile(`${LEVEL_ICON[l]} ${l}`, int(n[l]),
        el('span', { class: 'sub' }, `${money(arr[l])} ARR${share(arr[l], total)}`),
        { class: `tile lvl-${l}`, 'data-level': l, title: `show the ${l} accounts`, onclick: () => setFilter('level', l) })),
      tile('Need attention', int(need),
        el('span', { class: 'sub' }, 'low level, health −15 or more in 28 d, or WAU −30% or more'),
        { class: 'tile attention', title: 'show the accounts that need attention', onclick: () => setFilter('attention', 'yes') }),
      tile('ARR', money(total), el('span', { class: 'sub' }, `${int(rows.length)} accounts`)));
  };

  const update = (keepScroll) => {
    const q = filt.q.trim().toLowerCase();
    const shown = rows.filter((a) => (!filt.segment || a.segment === filt.segment) && (!filt.owner || a.owner === filt.owner) &&
      (!filt.level || a.level === filt.level) && (!filt.attention || a.reasons.length) &&
      (!q || (a.name || '').toLowerCase().includes(q) || a.account_id.toLowerCase().includes(q)));
    const col = PORTFOLIO_COLUMNS.find((c) => c.key === state.sort) || PORTFOLIO_COLUMNS[2];
    shown.sort(compareBy(col.value || ((a) => a[col.key]), state.dir === 'desc' ? -1 : 1));
    count.textContent = shown.length === rows.length ? `${int(rows.length)} accounts` : `${int(shown.length)} of ${int(rows.length)} accounts`;
    table.setRows(shown, keepScroll === true);
    remember();
  };
  drawTiles();
  update();
  window.uptakeReadyAt = performance.now();   // usable now; the 28-day change fills in after
  markReady();

  const before = await api('accounts', { as_of: addDays(asof, -28), compact: 1 });
  if (!v.isConnected) return;
  const prev = new Map(before.accounts.map((a) => [a.account_id, a.health]));
  for (const a of rows) {
    const h = prev.get(a.account_id);
    a.health_change = !none(a.health) && !none(h) ? a.health - h : null;
    a.reasons = attentionReasons(a);
  }
  drawTiles();
  update(true);
  v.dataset.complete = 'yes';   // tests wait for this before reading Δ 28 d
}

// ---- account ----------------------------------------------------------------------

const STAGE_LETTER = { aware: 'A', trial: 'T', regular: 'R', mastery: 'M' };

function card(id, heading, ...body) {
  return el('section', { class: 'card', id }, el('h2', {}, heading), ...body);
}
const emptyNote = (text) => el('p', { class: 'muted' }, text);

async function account(r) {
  const id = r.arg;
  const enc = encodeURIComponent(id);
  const optional = (p, fallback) => p.catch((e) => { if (e instanceof SignInNeeded) throw e; return fallback; });
  const [acc, row, series, users] = await Promise.all([
    api(`accounts/${enc}`, asOf()), api('accounts', { ...asOf(), account: id }),
    optional(api(`accounts/${enc}/series`, { ...asOf(), days: 90 }), { days: [], feature_weeks: [] }),
    optional(api(`accounts/${enc}/users`, asOf()), { users: [] })]);
  const m = row.accounts[0];
  const v = view();
  const facts = [acc.segment || 'no segment', acc.owner ? `owner ${acc.owner}` : 'no owner', acc.plan ? `plan ${acc.plan}` : null,
    acc.arr !== null ? `${money(acc.arr)} ARR` : null, acc.contract_start ? `contract since ${acc.contract_start}` : null,
    acc.renewal_date ? `renewal ${acc.renewal_date}` : null].filter((x) => x);
  v.replaceChildren(
    el('p', { class: 'crumbs' }, el('a', { href: hashFor('portfolio') }, '← Portfolio')),
    el('h1', {}, el('span', { id: 'account-name' }, acc.name || acc.account_id), ' ', levelBadge(acc.level),
      el('span', { class: 'muted small' }, ` ${acc.account_id} · as of ${day(acc.as_of)}`)),
    el('p', { class: 'muted' }, facts.join(' · ')),
    ...(acc.churned_at ? [el('p', { class: 'bad' }, `⚠ churned ${acc.churned_at}`)] : []),
    el('p', {}, `Level ${acc.level}: ${acc.level_reason || ''}`));

  // KPI tiles; DAU, WAU and MAU with a 90-day sparkline
  const dates = series.days.map((d) => d.date.slice(5));   // MM-DD: the year is in the heading
  const spark = (key) => {
    if (!series.days.length) return null;
    const c = el('canvas', { 'aria-hidden': 'true' });
    setTimeout(() => lineChart(c, dates, [{ label: key, data: series.days.map((d) => d[key]) }], { spark: true }));
    return el('span', { class: 'spark' }, c);
  };
  v.append(el('div', { class: 'tiles kpis', id: 'kpis' },
    tile('Health', fix(acc.health), el('span', { class: 'sub' }, 'of 100')),
    tile('Breadth', pct(acc.breadth), el('span', { class: 'sub' }, 'active users / seats')),
    tile('Depth', pct(acc.depth), el('span', { class: 'sub' }, 'core features used')),
    tile('DAU', int(acc.dau), spark('dau')), tile('WAU', int(acc.wau), spark('wau')), tile('MAU', int(m.mau), spark('mau')),
    tile('Stickiness', pct(acc.stickiness), el('span', { class: 'sub' }, 'DAU / MAU')),
    tile('WAU trend', signedPct(acc.wau_trend), el('span', { class: 'sub' }, 'vs the week before')),
    tile('Seats used', `${int(acc.active_users)} / ${int(acc.seats)}`, el('span', { class: 'sub' }, 'active / licensed')),
    tile('TTFV', none(acc.ttfv_days) ? DASH : `${acc.ttfv_days} d`, el('span', { class: 'sub' }, 'to first value'))));

  if (series.days.length) {
    const c1 = el('canvas', { id: 'chart-activity', role: 'img', 'aria-label': 'DAU and WAU per day over 90 days' });
    const c2 = el('canvas', { id: 'chart-seats', role: 'img', 'aria-label': 'licensed seats and monthly active users per day over 90 days' });
    v.append(el('div', { class: 'grid2' },
      card('activity', 'DAU and WAU, 90 days', el('div', { class: 'chart' }, c1)),
      card('seats', 'Seats licensed vs active (MAU), 90 days', el('div', { class: 'chart' }, c2),
        el('p', { class: 'muted small' }, `Today ${int(m.mau)} of ${int(acc.seats)} seats active (${pct(acc.breadth)}).`))));
    lineChart(c1, dates, [{ label: 'DAU', data: series.days.map((d) => d.dau) }, { label: 'WAU', data: series.days.map((d) => d.wau) }]);
    lineChart(c2, dates, [{ label: 'licensed seats', data: series.days.map((d) => d.seats) }, { label: 'MAU', data: series.days.map((d) => d.mau) }]);
  } else {
    v.append(emptyNote('No activity to chart: this account has no events up to this date.'));
  }

  // feature × week heatmap: the number is in every cell, the shade repeats it
  const fw = series.feature_weeks;
  if (fw.length) {
    const max = Math.max(1, ...fw.flatMap((f) => f.weeks.map((w) => w.users)));
    v.append(card('heat', 'Users per feature and week (12 weeks)', el('div', { class: 'hscroll' }, el('table', { class: 'heat', id: 'heatmap' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'feature'),
        fw[0].weeks.map((w) => el('th', { scope: 'col', class: 'num', title: `${w.week_start} to ${w.week_end}` }, `to ${w.week_end.slice(5)}`)))),
      el('tbody', {}, fw.map((f) => el('tr', {}, el('th', { scope: 'row' }, f.feature, f.core ? el('span', { class: 'pill' }, 'core') : null),
        f.weeks.map((w) => el('td', { class: `num h${Math.min(4, Math.ceil((4 * w.users) / max))}`, title: `${f.feature}, week to ${w.week_end}: ${w.users} users` },
          String(w.users))))))))));
  }

  // the user × feature stage matrix
  const features = acc.features.map((f) => f.feature);
  const byUser = new Map();
  for (const u of users.users) {
    if (!byUser.has(u.user_id)) byUser.set(u.user_id, {});
    byUser.get(u.user_id)[u.feature] = u;
  }
  const LIMIT = 200;
  const userIds = [...byUser.keys()];
  const rank = { mastery: 4, regular: 3, trial: 2, aware: 1 };
  const score = (uid) => features.reduce((s, f) => s + (byUser.get(uid)[f] ? rank[byUser.get(uid)[f].stage] : 0), 0);
  userIds.sort((a, b) => score(b) - score(a) || (a < b ? -1 : 1));
  v.append(card('stages', 'Where each user stands, per feature',
    el('p', { class: 'legend' }, ['mastery', 'regular', 'trial', 'aware'].map((s) => el('span', { class: `stage st-${s}` }, `${STAGE_LETTER[s]} ${s}`)),
      el('span', { class: 'stage' }, '· not used')),
    userIds.length ? el('div', { class: 'hscroll tall' }, el('table', { id: 'stage-matrix' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'user'), features.map((f) => el('th', { scope: 'col' }, f)))),
      el('tbody', {}, userIds.slice(0, LIMIT).map((uid) => el('tr', {}, el('th', { scope: 'row', class: 'id' }, uid),
        features.map((f) => {
          const u = byUser.get(uid)[f];
          return el('td', { class: `stage ${u ? 'st-' + u.stage : ''}`, title: u ? `${f}: ${u.stage}, used on ${u.days_used_28d} of 28 days` : `${f}: not used` },
            u ? STAGE_LETTER[u.stage] : '·');
        }))))))
      : emptyNote('No user has used a feature yet.'),
    userIds.length > LIMIT ? el('p', { class: 'muted small' }, `The ${LIMIT} furthest-along of ${int(userIds.length)} users.`) : null));

  // people, health parts
  const p = acc.people;
  const champs = p.champions_and_sponsors || [];
  const hc = m.health_components || [];
  v.append(el('div', { class: 'grid2' },
    card('people', 'Champions and stakeholders',
      el('p', {}, `${int(p.engaged_stakeholders)} users engaged in the last 14 days, ${int(p.new_stakeholders)} new.`,
        p.single_threaded ? el('strong', { class: 'bad' }, ' ⚠ Single-threaded: one engaged person carries the account.') : null),
      champs.length ? el('table', { class: 'plain' }, el('thead', {}, el('tr', {}, ['person', 'role', 'active days, last 14', 'in the 28 before', 'trend']
        .map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, champs.map((c) => el('tr', {}, el('td', { class: 'id' }, c.user_id), el('td', {}, c.role),
        el('td', { class: 'num' }, int(c.active_days_14d)), el('td', { class: 'num' }, int(c.active_days_prev_28d)),
        el('td', { class: `num ${!none(c.trend) && c.trend < 0 ? 'bad' : ''}` }, `${!none(c.trend) && c.trend < 0 ? '▼ ' : ''}${signedPct(c.trend)}`))))) 
        : emptyNote('No champion or sponsor in the users table.')),
    card('health-parts', `Health ${fix(acc.health)}: its parts`,
      el('table', { class: 'plain' }, el('thead', {}, el('tr', {}, ['part', 'score', 'weight', 'points'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, hc.map((h) => el('tr', {}, el('th', { scope: 'row' }, h.name),
          el('td', { class: 'num' }, fix(h.score)),
          el('td', { class: 'num' }, none(h.rescaled_weight) ? 'left out' : `× ${fix(h.rescaled_weight, 2)}`),
          el('td', { class: 'barcell' }, el('span', { class: 'bar', 'data-w': h.contribution || 0 }), ` ${fix(h.contribution)}`))))),
      el('p', { class: 'muted small' }, 'A part without data is left out and the others are weighted up to 1.'))));
  for (const b of v.querySelectorAll('#health-parts .bar')) b.style.width = `${Math.max(0, Math.min(100, Number(b.dataset.w))) * 3}px`;

  // milestones, outcomes and targets
  const ms = acc.milestones || { items: [] };
  v.append(el('div', { class: 'grid2' },
    card('milestones', `Milestones: ${int(ms.done)} of ${int(ms.total)} done`,
      ms.items.length ? el('table', { class: 'plain' }, el('tbody', {}, ms.items.map((x) => el('tr', {},
        el('td', {}, x.name), el('td', {}, `due ${x.due || DASH}`),
        el('td', { class: !x.done_at && x.overdue_days ? 'bad' : null },
          x.done_at ? `✓ done ${x.done_at}` : x.overdue_days ? `⚠ overdue ${x.overdue_days} d` : 'open')))))
        : emptyNote('No milestones.')),
    card('outcomes', 'Outcomes and adoption targets',
      (acc.outcomes.length || acc.targets.length) ? el('table', { class: 'plain' },
        el('thead', {}, el('tr', {}, ['', 'now', 'target', 'status'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {},
          acc.outcomes.map((o) => el('tr', {}, el('td', {}, o.metric), el('td', { class: 'num' }, int(o.value)),
            el('td', { class: 'num' }, int(o.target)), el('td', { class: statusClass(o.status) }, statusText(o.status)))),
          acc.targets.map((t) => el('tr', {}, el('td', {}, `${t.name} (${t.metric})`),
            el('td', { class: 'num' }, fmtMetric(t.metric, t.value)), el('td', { class: 'num' }, `${fmtMetric(t.metric, t.min)}${t.due ? ' by ' + t.due : ''}`),
            el('td', { class: statusClass(t.status) }, statusText(t.status))))))
        : emptyNote('No outcomes or targets for this account.'))));

  // level history, support and surveys
  const lh = acc.level_history || [];
  const sup = acc.support || {};
  const sv = acc.surveys_by_month || [];
  v.append(el('div', { class: 'grid3' },
    card('level-history', 'Level history',
      lh.length ? el('ol', { class: 'timeline' }, lh.map((x) => el('li', {}, `${x.date} `, levelBadge(x.level))))
        : emptyNote('No level change yet.')),
    card('support', 'Support',
      el('p', {}, `${plural(sup.tickets_28d, 'ticket')} in 28 days, ${int(sup.tickets_90d)} in 90 (${int(sup.urgent_90d)} urgent); satisfaction ${none(sup.satisfaction_90d) ? 'not rated' : fix(sup.satisfaction_90d) + ' of 5'}.`),
      sup.friction_flag ? el('p', { class: 'bad' }, '⚠ Friction: support load is high for the usage.') : null),
    card('surveys', 'NPS by month',
      sv.length ? el('table', { class: 'plain' }, el('thead', {}, el('tr', {}, ['month', 'NPS', 'answers'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, sv.slice(-6).map((s) => el('tr', {}, el('td', {}, s.month), el('td', { class: 'num' }, fix(s.nps, 0)), el('td', { class: 'num' }, int(s.nps_answers))))))
        : emptyNote('No survey answers.'))));
  markReady();
}

function fmtMetric(metric, v) {
  return ['breadth', 'depth', 'stickiness', 'activation_rate', 'consistency'].includes(metric) ? pct(v) : fix(v, 2);
}
const statusText = (s) => ({ met: '✓ met', 'on track': '✓ on track', on_track: '✓ on track', behind: '⚠ behind', missed: '✗ missed',
  'off track': '✗ off track', off_track: '✗ off track', no_contract: 'no contract date' }[s] || s || DASH);
const statusClass = (s) => (['behind', 'missed', 'off track', 'off_track'].includes(s) ? 'bad' : s === 'met' || s === 'on track' || s === 'on_track' ? 'good' : null);

// ---- features ---------------------------------------------------------------------

async function featuresPage() {
  const [f, st, accs] = await Promise.all([api('features', asOf()), api('stages', asOf()), api('accounts', { ...asOf(), compact: 1 })]);
  const names = new Map(accs.accounts.map((a) => [a.account_id, a.name || a.account_id]));
  const arr = new Map(accs.accounts.map((a) => [a.account_id, a.arr]));
  const per = new Map();
  for (const row of f.features) {
    if (!per.has(row.feature)) per.set(row.feature, { feature: row.feature, core: row.core, users: 0, active: 0, accounts: 0, using: 0, rows: [] });
    const p = per.get(row.feature);
    p.users += row.users; p.active += row.active_users; p.rows.push(row);
    if (row.active_users > 0) { p.accounts++; if (row.users > 0) p.using++; }
  }
  const rows = [...per.values()].map((p) => ({ ...p, adoption: p.active ? p.users / p.active : null, reach: p.accounts ? p.using / p.accounts : null }));
  const v = view();
  const bar = (share) => { const b = el('span', { class: 'bar', 'data-w': share || 0 }); return b; };
  v.replaceChildren(el('h1', {}, 'Features', el('span', { class: 'muted small' }, ` as of ${day(f.as_of)}`)),
    el('h2', {}, 'Adoption per feature across accounts'),
    el('p', { class: 'muted' }, 'Adoption: users who used the feature in the last 28 days over active users, summed over accounts. Accounts using: accounts with an active user in which at least one used it.'),
    sortableTable([
      { key: 'feature', label: 'Feature', render: (p) => el('span', {}, p.feature, p.core ? el('span', { class: 'pill' }, 'core') : null) },
      { key: 'adoption', label: 'Adoption', num: true, first: 'desc', render: (p) => el('span', {}, bar(p.adoption), ` ${pct(p.adoption)}`) },
      { key: 'users', label: 'Users (28 d)', num: true, first: 'desc', render: (p) => int(p.users) },
      { key: 'reach', label: 'Accounts using', num: true, first: 'desc', render: (p) => `${int(p.using)} of ${int(p.accounts)} (${pct(p.reach)})` },
    ], rows, { sort: 'adoption', dir: 'desc' }, 'feature-table'));
  const STAGES = ['none', 'aware', 'trial', 'regular', 'mastery'];
  v.append(el('h2', {}, 'Stage funnel: none → aware → trial → regular → mastery'),
    el('p', { class: 'muted' }, 'Users (account × user) at each stage, the share that moved on from trial to regular, and where each feature is stuck.'),
    el('div', { class: 'hscroll' }, el('table', { id: 'funnel' },
      el('thead', {}, el('tr', {}, ['feature', ...STAGES, 'trial → regular', 'diagnosis'].map((h, i) => el('th', { scope: 'col', class: i && i <= 6 ? 'num' : null }, h)))),
      el('tbody', {}, st.stages.map((s) => el('tr', {}, el('th', { scope: 'row' }, s.feature),
        STAGES.map((k) => el('td', { class: `num st-${k}` }, int(s[k]))),
        el('td', { class: 'num' }, pct(s.trial_to_regular)), el('td', { class: 'diag' }, s.diagnosis || DASH)))))));
  v.append(el('h2', {}, 'Accounts furthest behind on each core feature'),
    el('p', { class: 'muted' }, 'The five accounts with active users where the fewest of them used the feature in the last 28 days.'));
  const grid = el('div', { class: 'grid3', id: 'behind' });
  for (const p of rows.filter((x) => x.core)) {
    const worst = p.rows.filter((x) => x.active_users > 0).sort((a, b) => a.feature_adoption - b.feature_adoption ||
      (arr.get(b.account_id) || 0) - (arr.get(a.account_id) || 0)).slice(0, 5);   // ties: the larger ARR first
    grid.append(card(`behind-${p.feature}`, p.feature, el('table', { class: 'plain' }, el('tbody', {}, worst.map((w) => el('tr', {},
      el('td', {}, accountLink(w.account_id, names.get(w.account_id))),
      el('td', { class: 'num' }, pct(w.feature_adoption)),
      el('td', { class: 'num muted' }, `${int(w.users)} of ${int(w.active_users)} users`)))))));
  }
  v.append(grid);
  for (const b of v.querySelectorAll('#feature-table .bar')) b.style.width = `${Math.round(Number(b.dataset.w) * 120)}px`;
  markReady();
}

// ---- gaps -----------------------------------------------------------------------

async function gapsPage(r) {
  const top = r.params.get('top') || '20';
  const segment = r.params.get('segment') || '';
  const [g, accs] = await Promise.all([api('gaps', { ...asOf(), top, segment }),
    api('accounts', { ...asOf(), compact: 1 })]);
  const segments = [...new Set(accs.accounts.map((a) => a.segment).filter((s) => s))].sort();
  const stake = g.gaps.reduce((s, a) => s + (a.arr_at_stake || 0), 0);
  const v = view();
  const change = (k) => (e) => { location.hash = hashFor('gaps', null, { top, segment, [k]: e.target.value }); };
  v.replaceChildren(el('h1', {}, 'Gaps: what was bought but is not used', el('span', { class: 'muted small' }, ` as of ${day(g.as_of)}`)),
    el('p', { class: 'muted' }, 'Ranked by the gap score, from the unused share of licensed seats and of core features; ARR at stake = ARR × gap score.'),
    el('div', { class: 'filters' },
      el('label', {}, 'Show the top', el('select', { 'data-filter': 'top', onchange: change('top') },
        [...new Set(['10', '20', '50', '100', '500', top])].sort((a, b) => a - b).map((n) => el('option', { value: n, selected: n === top }, n)))),
      el('label', {}, 'Segment', el('select', { 'data-filter': 'segment', onchange: change('segment') },
        el('option', { value: '' }, 'all'), segments.map((s) => el('option', { value: s, selected: s === segment }, s))))),
    el('div', { class: 'tiles' }, tile('ARR at stake', money(stake), el('span', { class: 'sub' }, `in these ${int(g.gaps.length)} accounts`)),
      tile('Unused seats', int(g.gaps.reduce((s, a) => s + (a.unused_seats || 0), 0)), el('span', { class: 'sub' }, `of ${int(g.gaps.reduce((s, a) => s + (a.seats || 0), 0))} licensed`))),
    el('div', { class: 'hscroll' }, sortableTable([
      { key: 'rank', label: '#', num: true },
      { key: 'name', label: 'Account', value: (a) => (a.name || a.account_id).toLowerCase(), render: (a) => accountLink(a.account_id, a.name || a.account_id) },
      { key: 'unused_seats', label: 'Unused seats', num: true, first: 'desc', render: (a) => `${int(a.unused_seats)} of ${int(a.seats)}` },
      { key: 'unused_core_share', label: 'Core features unused', num: true, first: 'desc', render: (a) => `${int(a.core_features - a.core_features_used)} of ${int(a.core_features)}` },
      { key: 'gap_score', label: 'Gap score', num: true, first: 'desc', render: (a) => pct(a.gap_score) },
      { key: 'arr', label: 'ARR', num: true, first: 'desc', render: (a) => money(a.arr) },
      { key: 'arr_at_stake', label: 'ARR at stake', num: true, first: 'desc', render: (a) => money(a.arr_at_stake) },
      { key: 'owner', label: 'Owner' }], g.gaps.map((a, i) => ({ ...a, rank: i + 1 })), { sort: 'rank', dir: 'asc' }, 'gaps-table')));
  markReady();
}

// ---- alerts ---------------------------------------------------------------------

const round = (x) => (typeof x === 'number' && !Number.isInteger(x) ? Number(x.toFixed(3)) : x);
function alertValues(values) {
  return Object.entries(values || {}).map(([k, x]) => `${k} ${round(x)}`).join(', ');
}

async function alertsPage(r) {
  const stateName = r.params.get('state') || 'active';
  const [a, tasks] = await Promise.all([api('alerts', { state: stateName }),
    api('tasks').catch((e) => { if (e instanceof SignInNeeded) throw e; return { tasks: [] }; })]);
  const v = view();
  const sevs = ['critical', 'high', 'medium', 'low'];
  const counts = Object.fromEntries(sevs.map((s) => [s, a.alerts.filter((x) => x.severity === s).length]));
  v.replaceChildren(el('h1', {}, `Alerts: ${a.alerts.length} ${stateName === 'active' ? 'open' : stateName}`),
    el('p', { class: 'muted' }, 'Alerts are the rules evaluated by the server on the live data (not as of the date above).'),
    el('div', { class: 'filters' }, el('label', {}, 'Show', el('select', { 'data-filter': 'state',
      onchange: (e) => { location.hash = hashFor('alerts', null, { state: e.target.value }); } },
    ['active', 'open', 'acknowledged', 'snoozed', 'resolved', 'all'].map((s) => el('option', { value: s, selected: s === stateName }, s))))),
    el('div', { class: 'tiles' }, sevs.map((s) => tile(s, String(counts[s]), null, { class: `tile sev-${s}` }))));
  const owners = [...new Set(a.alerts.map((x) => x.owner || 'unassigned'))].sort();
  for (const o of owners) {
    const mine = a.alerts.filter((x) => (x.owner || 'unassigned') === o);
    v.append(el('h2', {}, `${o} (${mine.length})`), el('table', { class: 'alerts' },
      el('thead', {}, el('tr', {}, ['severity', 'state', 'account', 'rule', 'why', 'since', ''].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, mine.map((x) => el('tr', {},
        el('td', { class: `sev-${x.severity}` }, `${x.severity === 'critical' || x.severity === 'high' ? '⚠ ' : ''}${x.severity}`), el('td', {}, x.state),
        el('td', {}, accountLink(x.account_id)),
        el('td', {}, x.rule), el('td', { class: 'why muted' }, `${x.condition}: ${alertValues(x.values)}`),
        el('td', {}, x.opened_at),
        el('td', { class: 'actions' }, (x.state === 'acknowledged' ? ['resolve'] : ['ack', 'resolve']).map((act) => el('button', { type: 'button', title: `${act} alert ${x.id}`,
          onclick: () => alertAction(x.id, act) }, act))))))));
  }
  v.append(el('h2', {}, `Tasks for account owners (${tasks.tasks.length} open)`),
    tasks.tasks.length ? el('table', { id: 'tasks', class: 'alerts' }, el('tbody', {}, tasks.tasks.map((t) => el('tr', {},
      el('td', {}, t.owner || 'unassigned'), el('td', { class: 'why' }, t.title),
      el('td', {}, accountLink(t.account_id)),
      el('td', {}, `due ${t.due || DASH}`)))))
      : emptyNote('No open tasks (playbooks with a task create them when alerts open).'));
  markReady();
}

async function alertAction(id, action) {
  const res = await fetch(`/api/v1/alerts/${encodeURIComponent(id)}/${action}`, { method: 'POST', credentials: 'same-origin' });
  if (!res.ok) {
    view().prepend(el('p', { class: 'bad', role: 'alert' }, `Could not ${action} alert #${id} (HTTP ${res.status}).`));
    return;
  }
  render();
}

// ---- the shell ---------------------------------------------------------------------

const PAGES = { portfolio, account, features: featuresPage, gaps: gapsPage, alerts: alertsPage };

// Tests and the benchmark wait for this: the page is drawn and usable.
function markReady() {
  window.uptakeReady = true;
  if (!window.uptakeReadyAt) window.uptakeReadyAt = performance.now();
}

function showSignIn() {
  document.body.classList.add('signed-out');
  view().replaceChildren();
  $('#signin').hidden = false;
  $('#signin-failed').hidden = !location.search.includes('signin=failed');
  // after signing in the server sends us to /: come back to this address
  if (location.hash) sessionStorage.setItem('uptake.after-signin', location.hash);
  $('#signin input').focus();
}

async function render() {
  const r = route();
  routeAsOf = /^\d{4}-\d{2}-\d{2}$/.test(r.params.get('as_of') || '') ? r.params.get('as_of') : null;
  $('#asof').value = routeAsOf || '';
  for (const a of document.querySelectorAll('nav a')) {
    a.setAttribute('href', hashFor(a.dataset.page));
    if (a.dataset.page === r.page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  $('#signin').hidden = true;
  document.body.classList.remove('signed-out');
  view().replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  window.uptakeReady = false;
  window.uptakeReadyAt = null;
  const generation = (window.uptakeRender = (window.uptakeRender || 0) + 1);
  const page = PAGES[r.page] ? r.page : 'portfolio';
  document.title = `uptake — ${page}${r.arg ? ' ' + r.arg : ''}`;
  try {
    await PAGES[page](r);
  } catch (e) {
    if (generation !== window.uptakeRender) return;
    if (e instanceof SignInNeeded) showSignIn();
    else view().replaceChildren(el('h1', {}, 'Something went wrong'), el('p', { class: 'bad', role: 'alert' }, `Could not load this page: ${e.message}`));
    markReady();
  }
}

document.addEventListener('DOMContentLoaded', () => {
  const after = sessionStorage.getItem('uptake.after-signin');
  if (after && !location.hash && !location.search.includes('signin=failed')) {
    sessionStorage.removeItem('uptake.after-signin');
    history.replaceState(null, '', `/${after}`);
  }
  $('#asof').addEventListener('change', () => {
    const r = route();
    const p = Object.fromEntries(r.params.entries());
    const d = $('#asof').value;
    if (/^\d{4}-\d{2}-\d{2}$/.test(d)) p.as_of = d; else delete p.as_of;
    const q = new URLSearchParams(p).toString();
    location.hash = `#/${r.page}${r.arg ? '/' + encodeURIComponent(r.arg) : ''}${q ? '?' + q : ''}`;
  });
  window.addEventListener('hashchange', render);
  render();
});
