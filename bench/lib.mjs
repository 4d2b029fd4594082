// Shared helpers of the independent peer implementations (bench/ and
// tests/crosscheck/): the adoption model, number formatting and CSV output.
// Nothing here knows how uptake computes anything; it follows
// the definitions in docs/metrics.md only.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

// ---- the adoption model -------------------------------------------------

const DEFAULT_WEIGHTS = { breadth: 0.30, depth: 0.25, stickiness: 0.15, consistency: 0.10, trend: 0.10, nps: 0.10, intensity: 0 };

function strList(v, what) {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`model: ${what}: expected a list`);
  return v.map((x) => String(x));
}

// Looks a setting up under a few spellings (the settings block's exact key
// names are the C model's business; metrics.md only gives the defaults).
function pick(obj, paths, dflt) {
  for (const p of paths) {
    let cur = obj;
    for (const k of p.split('.')) {
      if (cur === null || typeof cur !== 'object' || !(k in cur)) { cur = undefined; break; }
      cur = cur[k];
    }
    if (cur !== undefined && cur !== null) return Number(cur);
  }
  return dflt;
}

export function loadModel(path) {
  const doc = YAML.parse(readFileSync(path, 'utf8')) ?? {};
  const features = (doc.features ?? []).map((f, i) => ({
    name: String(f.name ?? `#${i}`),
    core: f.core === true || f.core === 'true',
    events: strList(f.events, `features[${i}].events`),
    advanced: strList(f.advanced_events, `features[${i}].advanced_events`),
    exposure: strList(f.exposure_events, `features[${i}].exposure_events`),
  }));
  const s = doc.settings ?? {};
  const weights = {};
  for (const k of Object.keys(DEFAULT_WEIGHTS)) {
    weights[k] = pick(s, [`health_weights.${k}`, `weights.${k}`, `health.weights.${k}`, `health.${k}`, `weight_${k}`, `health_weight_${k}`], DEFAULT_WEIGHTS[k]);
  }
  const settings = {
    weights,
    nps_promoter_min: pick(s, ['nps_promoter_min', 'nps.promoter_min'], 9),
    nps_detractor_max: pick(s, ['nps_detractor_max', 'nps.detractor_max'], 6),
    nps_window_days: pick(s, ['nps_window_days', 'nps.window_days'], 90),
    activation_days: pick(s, ['activation_days', 'activation.days'], 14),
    level_breadth_min: pick(s, ['level_breadth_min', 'level.breadth_min'], 0.40),
    level_depth_min: pick(s, ['level_depth_min', 'level.depth_min'], 0.30),
    stage_regular_blocks: pick(s, ['stage_regular_blocks', 'stage.regular_blocks'], 3),
    stage_mastery_top: pick(s, ['stage_mastery_top', 'stage.mastery_top'], 0.10),
    intensity_target: pick(s, ['intensity_target'], 20),
  };
  return {
    features,
    passive: strList(doc.passive_events, 'passive_events'),
    keyActions: strList(doc.key_actions, 'key_actions'),
    settings,
  };
}

// The model as rows of four small relations:
//   passive(event)            passive events and every exposure event
//   feat(feature, core, ord)  every feature (core as 0/1; ord = its position
//                             in the model, the row order of report features)
//   feat_event(feature,event) the events that mean "uses f": events and
//                             advanced_events of f, less any passive event
//   key_action(event)
//   feat_adv(feature, event)  the advanced events of f that are a use of f
//                             (advanced_events less any passive event)
//   feat_expo(feature, event) the exposure events of f
export function modelRows(m) {
  const passive = new Set(m.passive);
  for (const f of m.features) for (const e of f.exposure) passive.add(e);
  const featEvent = [];
  for (const f of m.features) {
    const seen = new Set();
    for (const e of [...f.events, ...f.advanced]) {
      if (passive.has(e) || seen.has(e)) continue;
      seen.add(e);
      featEvent.push([f.name, e]);
    }
  }
  const featAdv = [], featExpo = [];
  for (const f of m.features) {
    for (const e of new Set(f.advanced)) if (!passive.has(e)) featAdv.push([f.name, e]);
    for (const e of new Set(f.exposure)) featExpo.push([f.name, e]);
  }
  return {
    passive: [...passive],
    feat: m.features.map((f, i) => [f.name, f.core ? 1 : 0, i]),
    featEvent,
    featAdv,
    featExpo,
    keyAction: [...new Set(m.keyActions)],
  };
}

export function sqlStr(s) { return `'${String(s).replace(/'/g, "''")}'`; }

// A DOUBLE literal that any SQL engine reads back to exactly this double.
export function sqlDouble(x) { return `CAST(${x.toExponential()} AS DOUBLE)`; }

// SQL that creates and fills the model relations (DuckDB and SQLite alike).
export function modelSql(m, prefix = '') {
  const r = modelRows(m);
  const out = [];
  const mk = (name, cols, rows) => {
    out.push(`DROP TABLE IF EXISTS ${prefix}${name};`);
    out.push(`CREATE TABLE ${prefix}${name}(${cols});`);
    if (rows.length) out.push(`INSERT INTO ${prefix}${name} VALUES ${rows.map((row) => '(' + row.map((v) => typeof v === 'number' ? String(v) : sqlStr(v)).join(',') + ')').join(',')};`);
  };
  mk('m_passive', 'event VARCHAR', r.passive.map((e) => [e]));
  mk('m_feat', 'feature VARCHAR, core INTEGER, ord INTEGER', r.feat);
  mk('m_feat_event', 'feature VARCHAR, event VARCHAR', r.featEvent);
  mk('m_key_action', 'event VARCHAR', r.keyAction.map((e) => [e]));
  mk('m_feat_adv', 'feature VARCHAR, event VARCHAR', r.featAdv);
  mk('m_feat_expo', 'feature VARCHAR, event VARCHAR', r.featExpo);
  return out.join('\n');
}

// ---- number formatting --------------------------------------------------

// Shortest digits that read back to the same double (what Python's repr and
// JS's toString both pick), laid out like Python's repr (fixed notation for
// 1e-4 <= |x| < 1e16, else d.ddde±XX) except that an integral value prints
// without ".0" ("12", not "12.0").
export function fmtDouble(x) {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mant, expS] = x.toExponential().split('e');   // shortest round-trip digits
  const exp = Number(expS);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const sign = neg ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
    const e = Math.abs(exp);
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' + e : e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return sign + digits + '0'.repeat(exp + 1 - digits.length);
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

export function fmtCell(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return fmtDouble(v);
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// ---- CSV reading (RFC 4180) ---------------------------------------------

export function parseCsv(text) {
  const rows = [];
  let row = [], field = '', i = 0, q = false;
  while (i < text.length) {
    const c = text[i];
    if (q) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
        q = false; i++; continue;
      }
      field += c; i++; continue;
    }
    if (c === '"') { q = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { i++; continue; }
    if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; continue; }
    field += c; i++;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

export const ACCOUNT_COLUMNS = ['account_id', 'seats', 'known_users', 'dau', 'wau', 'wau_prev', 'mau',
  'active_users', 'breadth', 'depth', 'stickiness', 'wau_trend', 'ttfv_days', 'activation_rate',
  'consistency', 'champion_active', 'nps', 'health', 'level', 'status', 'events_28d', 'intensity'];
export const FEATURE_COLUMNS = ['account_id', 'feature', 'users', 'active_users', 'feature_adoption'];
export const USER_COLUMNS = ['account_id', 'user_id', 'feature', 'stage', 'days_used_28d'];
export const STAGE_COLUMNS = ['feature', 'none', 'aware', 'trial', 'regular', 'mastery'];
// The report files and their key columns (compare.mjs).
export const REPORTS = [
  { file: 'accounts.csv', columns: ACCOUNT_COLUMNS, nkey: 1 },
  { file: 'features.csv', columns: FEATURE_COLUMNS, nkey: 2 },
  { file: 'users.csv', columns: USER_COLUMNS, nkey: 3 },
  { file: 'stages.csv', columns: STAGE_COLUMNS, nkey: 1 },
];
