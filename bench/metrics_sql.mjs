// The account metrics and feature adoption of ../shared/spec/metrics.md as SQL
// over the loaded tables
//   events(ts TIMESTAMP, user_id, account_id, event)          de-duplicated
//   accounts(account_id, seats BIGINT, contract_start DATE)   one row per id
//   users(account_id, user_id, created_at TIMESTAMP, role)    one row per pair
//   surveys(account_id, ts TIMESTAMP, kind, score DOUBLE)
// and the model relations of lib.mjs (m_passive, m_feat, m_feat_event,
// m_key_action). Written for DuckDB; the SQLite peer (peer_sqlite.sh) is a
// transcription of the same statements.
//
// Conventions: a user is an (account_id, user_id) pair. o = D0 - date(ts) is
// the day offset of an event (0 = D0, the as-of day). T is the last instant
// of D0 (23:59:59.999); nothing after T exists. Every ratio is a DOUBLE
// division in the order metrics.md writes it.
import { sqlDouble } from './lib.mjs';

export function reportSql(asOf, settings) {
  const D0 = `DATE '${asOf}'`;
  const T = `TIMESTAMP '${asOf} 23:59:59.999'`;
  const w = settings.weights;
  const a = settings.activation_days;
  const npsWin = settings.nps_window_days;
  const D = (x) => sqlDouble(x);
  // clamp to 0..100 keeping NULL (GREATEST/LEAST skip NULLs, so no use here)
  const clamp = (x) => `CASE WHEN (${x}) IS NULL THEN NULL WHEN (${x}) < ${D(0)} THEN ${D(0)} WHEN (${x}) > ${D(100)} THEN ${D(100)} ELSE (${x}) END`;
  const common = `
  ev AS (   -- every stored event up to T, any kind
    SELECT account_id, user_id, event, ts, (${D0} - CAST(ts AS DATE)) AS o
    FROM events WHERE ts <= ${T}),
  acct AS ( -- accounts.csv plus accounts seen in events up to T (seats 0)
    SELECT account_id FROM accounts UNION SELECT DISTINCT account_id FROM ev),
  A AS (
    SELECT acct.account_id, COALESCE(a.seats, 0) AS seats, a.contract_start AS cs
    FROM acct LEFT JOIN accounts a ON a.account_id = acct.account_id),
  act AS (  -- (account, user, day) with at least one non-passive event; 84 days for consistency
    SELECT DISTINCT account_id, user_id, o FROM ev
    WHERE o BETWEEN 0 AND 83 AND event NOT IN (SELECT event FROM m_passive)),
  cnt AS (
    SELECT account_id,
      COUNT(DISTINCT user_id) FILTER (WHERE o = 0) AS dau,
      COUNT(DISTINCT user_id) FILTER (WHERE o BETWEEN 0 AND 6) AS wau,
      COUNT(DISTINCT user_id) FILTER (WHERE o BETWEEN 7 AND 13) AS wau_prev,
      COUNT(DISTINCT user_id) FILTER (WHERE o BETWEEN 0 AND 27) AS mau,
      COUNT(*) FILTER (WHERE o BETWEEN 0 AND 27) AS dau_sum  -- act is distinct per user-day
    FROM act GROUP BY account_id),
  used AS ( -- (account, user, feature) used in window(28)
    SELECT DISTINCT ev.account_id, ev.user_id, fe.feature
    FROM ev JOIN m_feat_event fe ON fe.event = ev.event
    WHERE ev.o BETWEEN 0 AND 27),
  fu AS (SELECT account_id, feature, COUNT(*) AS users FROM used GROUP BY account_id, feature)`;

  const accounts = `
WITH ${common},
  -- known_users: users-table users of the account with created_at <= T or
  -- no created_at, UNION the (account, user) pairs seen only in that
  -- account's events up to T (any event, passive included) and absent from
  -- the users table. The second half is the project's choice: metrics.md
  -- counts "users of the account", and a user seen only in events is one,
  -- while a users-table user is governed by its created_at.
  known AS (
    SELECT account_id, user_id FROM users WHERE created_at IS NULL OR created_at <= ${T}
    UNION SELECT DISTINCT e.account_id, e.user_id FROM ev e
      WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.account_id = e.account_id AND u.user_id = e.user_id)),
  kn AS (SELECT account_id, COUNT(*) AS known_users FROM known GROUP BY account_id),
  ncore AS (SELECT COUNT(*) AS n FROM m_feat WHERE core = 1),
  dep AS (
    SELECT fu.account_id, COUNT(*) AS core_used
    FROM fu JOIN m_feat f ON f.feature = fu.feature AND f.core = 1
    GROUP BY fu.account_id),
  ttfv AS ( -- first key action of the account, any user, ts <= T
    SELECT account_id, MIN(ts) AS first_ka FROM ev
    WHERE event IN (SELECT event FROM m_key_action) GROUP BY account_id),
  cohort AS ( -- users created on days D0-${a + 27} .. D0-${a}
    SELECT account_id, user_id, created_at FROM users
    WHERE created_at IS NOT NULL
      AND (${D0} - CAST(created_at AS DATE)) BETWEEN ${a} AND ${a + 27}),
  activ AS (
    SELECT c.account_id, COUNT(*) AS n,
      COUNT(*) FILTER (WHERE EXISTS (
        SELECT 1 FROM ev e
        WHERE e.account_id = c.account_id AND e.user_id = c.user_id
          AND e.event IN (SELECT event FROM m_key_action)
          AND e.ts >= c.created_at AND e.ts <= c.created_at + INTERVAL ${a * 24} HOUR)) AS activated
    FROM cohort c GROUP BY c.account_id),
  blk AS (  -- the 12 seven-day blocks: block k = days D0-7k-6 .. D0-7k
    SELECT A.account_id, k.range AS k,
      EXISTS (SELECT 1 FROM act WHERE act.account_id = A.account_id
              AND act.o BETWEEN 7 * k.range AND 7 * k.range + 6) AS active
    FROM A CROSS JOIN range(12) k
    WHERE A.cs IS NULL OR (${D0} - A.cs) >= 7 * k.range + 6),  -- first day on or after contract_start
  cons AS (
    SELECT account_id, COUNT(*) AS n, COUNT(*) FILTER (WHERE active) AS active
    FROM blk GROUP BY account_id),
  champ AS ( -- champions (role trimmed, case-insensitive; created <= T or no created_at)
    SELECT u.account_id,
      BOOL_AND(EXISTS (SELECT 1 FROM act WHERE act.account_id = u.account_id
                       AND act.user_id = u.user_id AND act.o BETWEEN 0 AND 13)) AS all_active
    FROM users u
    WHERE lower(trim(u.role, ' ' || chr(9) || chr(10) || chr(13) || chr(11) || chr(12))) = 'champion'
      AND (u.created_at IS NULL OR u.created_at <= ${T})
    GROUP BY u.account_id),
  np AS (   -- surveys of kind nps (trimmed, case-insensitive) with a score, in window(${npsWin})
    SELECT account_id, COUNT(*) AS n,
      COUNT(*) FILTER (WHERE score >= ${settings.nps_promoter_min}) AS p,
      COUNT(*) FILTER (WHERE score <= ${settings.nps_detractor_max}) AS d
    FROM surveys
    WHERE lower(trim(kind)) = 'nps' AND score IS NOT NULL
      AND ts >= CAST(${D0} - ${npsWin - 1} AS TIMESTAMP) AND ts <= ${T}
    GROUP BY account_id),
  m AS (
    SELECT A.account_id, A.seats,
      COALESCE(kn.known_users, 0) AS known_users,
      COALESCE(cnt.dau, 0) AS dau, COALESCE(cnt.wau, 0) AS wau,
      COALESCE(cnt.wau_prev, 0) AS wau_prev, COALESCE(cnt.mau, 0) AS mau,
      COALESCE(cnt.dau_sum, 0) AS dau_sum,
      COALESCE(dep.core_used, 0) AS core_used, ncore.n AS n_core,
      CASE WHEN ttfv.first_ka IS NOT NULL AND A.cs IS NOT NULL
           THEN GREATEST(CAST(ttfv.first_ka AS DATE) - A.cs, 0) END AS ttfv_days,
      activ.n AS coh_n, activ.activated AS coh_act,
      cons.n AS cons_n, cons.active AS cons_active,
      champ.all_active AS champion_active,
      np.n AS nps_n, np.p AS nps_p, np.d AS nps_d
    FROM A CROSS JOIN ncore
    LEFT JOIN kn ON kn.account_id = A.account_id
    LEFT JOIN cnt ON cnt.account_id = A.account_id
    LEFT JOIN dep ON dep.account_id = A.account_id
    LEFT JOIN ttfv ON ttfv.account_id = A.account_id
    LEFT JOIN activ ON activ.account_id = A.account_id
    LEFT JOIN cons ON cons.account_id = A.account_id
    LEFT JOIN champ ON champ.account_id = A.account_id
    LEFT JOIN np ON np.account_id = A.account_id),
  r AS (
    SELECT *,
      CASE WHEN seats > 0 THEN CAST(mau AS DOUBLE) / CAST(seats AS DOUBLE)
           WHEN known_users > 0 THEN CAST(mau AS DOUBLE) / CAST(known_users AS DOUBLE) END AS breadth,
      CASE WHEN n_core > 0 THEN CAST(core_used AS DOUBLE) / CAST(n_core AS DOUBLE) END AS depth,
      CASE WHEN mau > 0 THEN (CAST(dau_sum AS DOUBLE) / ${D(28)}) / CAST(mau AS DOUBLE) END AS stickiness,
      CASE WHEN wau_prev > 0 THEN CAST(wau - wau_prev AS DOUBLE) / CAST(wau_prev AS DOUBLE) END AS wau_trend,
      CASE WHEN coh_n > 0 THEN CAST(coh_act AS DOUBLE) / CAST(coh_n AS DOUBLE) END AS activation_rate,
      CASE WHEN cons_n > 0 THEN CAST(cons_active AS DOUBLE) / CAST(cons_n AS DOUBLE) END AS consistency,
      CASE WHEN nps_n > 0 THEN CAST(100 * (nps_p - nps_d) AS DOUBLE) / CAST(nps_n AS DOUBLE) END AS nps
    FROM m),
  h AS ( -- health components, clamped to 0..100 (NULL stays NULL)
    SELECT *,
      ${clamp(`${D(100)} * breadth`)} AS c1,
      ${clamp(`${D(100)} * depth`)} AS c2,
      ${clamp(`${D(200)} * stickiness`)} AS c3,
      ${clamp(`${D(100)} * consistency`)} AS c4,
      ${clamp(`${D(50)} + ${D(100)} * wau_trend`)} AS c5,
      ${clamp(`(nps + ${D(100)}) / ${D(2)}`)} AS c6
    FROM r),
  hw AS ( -- sum of the weights of the non-null components, in component order
    SELECT *,
      (((((CASE WHEN c1 IS NULL THEN ${D(0)} ELSE ${D(w.breadth)} END)
        + CASE WHEN c2 IS NULL THEN ${D(0)} ELSE ${D(w.depth)} END)
        + CASE WHEN c3 IS NULL THEN ${D(0)} ELSE ${D(w.stickiness)} END)
        + CASE WHEN c4 IS NULL THEN ${D(0)} ELSE ${D(w.consistency)} END)
        + CASE WHEN c5 IS NULL THEN ${D(0)} ELSE ${D(w.trend)} END)
        + CASE WHEN c6 IS NULL THEN ${D(0)} ELSE ${D(w.nps)} END AS wsum
    FROM h)
SELECT account_id, seats, known_users, dau, wau, wau_prev, mau, mau AS active_users,
  breadth, depth, stickiness, wau_trend, ttfv_days, activation_rate, consistency,
  champion_active, nps,
  CASE WHEN wsum > 0 THEN
    (((((CASE WHEN c1 IS NULL THEN ${D(0)} ELSE (${D(w.breadth)} / wsum) * c1 END)
      + CASE WHEN c2 IS NULL THEN ${D(0)} ELSE (${D(w.depth)} / wsum) * c2 END)
      + CASE WHEN c3 IS NULL THEN ${D(0)} ELSE (${D(w.stickiness)} / wsum) * c3 END)
      + CASE WHEN c4 IS NULL THEN ${D(0)} ELSE (${D(w.consistency)} / wsum) * c4 END)
      + CASE WHEN c5 IS NULL THEN ${D(0)} ELSE (${D(w.trend)} / wsum) * c5 END)
      + CASE WHEN c6 IS NULL THEN ${D(0)} ELSE (${D(w.nps)} / wsum) * c6 END
  END AS health
FROM hw
ORDER BY account_id`;

  const features = `
WITH ${common},
  mau AS (SELECT account_id, COUNT(DISTINCT user_id) AS mau FROM act WHERE o BETWEEN 0 AND 27 GROUP BY account_id)
SELECT A.account_id, f.feature, COALESCE(fu.users, 0) AS users, COALESCE(mau.mau, 0) AS active_users,
  CASE WHEN mau.mau > 0 THEN CAST(COALESCE(fu.users, 0) AS DOUBLE) / CAST(mau.mau AS DOUBLE) END AS feature_adoption
FROM A CROSS JOIN m_feat f
LEFT JOIN fu ON fu.account_id = A.account_id AND fu.feature = f.feature
LEFT JOIN mau ON mau.account_id = A.account_id
ORDER BY A.account_id, f.ord`;  // features in model order (as uptake lists them)

  return { accounts, features };
}
