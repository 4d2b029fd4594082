// The account metrics and feature adoption of the definitions in docs/metrics.md as SQL
// over the loaded tables
//   events(ts TIMESTAMP, user_id, account_id, event)          de-duplicated
//   accounts(account_id, seats BIGINT, contract_start DATE, churned_at DATE)   one row per id
//   churns(account_id, ts TIMESTAMP)                          the churn table
//   users(account_id, user_id, created_at TIMESTAMP, role)    one row per pair
//   surveys(account_id, ts TIMESTAMP, kind, score DOUBLE)
//   subscriptions(account_id, start_ts, end_ts TIMESTAMP, seats BIGINT, rid)
//   outcomes(account_id, metric, ts TIMESTAMP, value, target DOUBLE, due TIMESTAMP, rid)
// and the model relations of lib.mjs (m_passive, m_feat, m_feat_event,
// m_key_action, m_feat_adv, m_feat_expo). Written for DuckDB; the SQLite
// peer (peer_sqlite.sh) is a transcription of the account and feature
// statements as they were before subscriptions, level, users and stages.
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
  const Tms = Date.UTC(+asOf.slice(0, 4), +asOf.slice(5, 7) - 1, +asOf.slice(8, 10)) + 86400000 - 1;
  const R = settings.stage_regular_blocks;
  // "fewer than top × count" compared exactly in decimal: more × 10^6 < round(top × 10^6) × count
  const topMicro = Math.round(settings.stage_mastery_top * 1000000);
  // clamp to 0..100 keeping NULL (GREATEST/LEAST skip NULLs, so no use here)
  const clamp = (x) => `CASE WHEN (${x}) IS NULL THEN NULL WHEN (${x}) < ${D(0)} THEN ${D(0)} WHEN (${x}) > ${D(100)} THEN ${D(100)} ELSE (${x}) END`;
  const common = `
  ev AS (   -- every stored event up to T, any kind
    SELECT account_id, user_id, event, ts, (${D0} - CAST(ts AS DATE)) AS o
    FROM events WHERE ts <= ${T}),
  acct AS ( -- accounts.csv plus accounts seen in events up to T (seats 0)
    SELECT account_id FROM accounts UNION SELECT DISTINCT account_id FROM ev),
  sub AS (  -- accounts with subscription rows: seats = sum over those active at T
            -- (start <= T < end, empty end = open); none active = 0
    SELECT account_id,
      CAST(COALESCE(SUM(seats) FILTER (WHERE start_ts <= ${T} AND (end_ts IS NULL OR ${T} < end_ts)), 0) AS BIGINT) AS seats
    FROM subscriptions GROUP BY account_id),
  A AS (    -- an account without subscription rows keeps the accounts-table seats
    SELECT acct.account_id,
      CASE WHEN sub.account_id IS NOT NULL THEN sub.seats ELSE COALESCE(a.seats, 0) END AS seats,
      a.contract_start AS cs
    FROM acct LEFT JOIN accounts a ON a.account_id = acct.account_id
    LEFT JOIN sub ON sub.account_id = acct.account_id),
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
  evn AS (  -- events_28d: every non-passive event in window(28), not distinct
    SELECT account_id, COUNT(*) AS n FROM ev
    WHERE o BETWEEN 0 AND 27 AND event NOT IN (SELECT event FROM m_passive) GROUP BY account_id),
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
  ol AS (  -- each outcome metric's latest row with ts <= T (a tie on ts: the
            -- last in file order), with start = the ts of its first row
    SELECT account_id, metric, value, target, due,
      MIN(ts) OVER (PARTITION BY account_id, metric) AS start_ts
    FROM outcomes WHERE ts <= ${T}
    QUALIFY row_number() OVER (PARTITION BY account_id, metric ORDER BY ts DESC, rid DESC) = 1),
  otr AS (  -- the metrics whose latest row has a target, and whether each is on track
    SELECT account_id, COALESCE(
      value >= target
      OR (due IS NOT NULL AND ${Tms} < epoch_ms(due) AND epoch_ms(due) > epoch_ms(start_ts)
          AND value >= (target * CAST(${Tms} - epoch_ms(start_ts) AS DOUBLE))
                       / CAST(epoch_ms(due) - epoch_ms(start_ts) AS DOUBLE)), false) AS on_track
    FROM ol WHERE target IS NOT NULL),
  oc AS (SELECT account_id, COUNT(*) AS n, BOOL_AND(on_track) AS all_on FROM otr GROUP BY account_id),
  m AS (
    SELECT A.account_id, A.seats, oc.n AS out_n, oc.all_on AS out_all_on,
      COALESCE(kn.known_users, 0) AS known_users,
      COALESCE(cnt.dau, 0) AS dau, COALESCE(cnt.wau, 0) AS wau,
      COALESCE(cnt.wau_prev, 0) AS wau_prev, COALESCE(cnt.mau, 0) AS mau,
      COALESCE(cnt.dau_sum, 0) AS dau_sum, COALESCE(evn.n, 0) AS events_28d,
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
    LEFT JOIN evn ON evn.account_id = A.account_id
    LEFT JOIN dep ON dep.account_id = A.account_id
    LEFT JOIN ttfv ON ttfv.account_id = A.account_id
    LEFT JOIN activ ON activ.account_id = A.account_id
    LEFT JOIN cons ON cons.account_id = A.account_id
    LEFT JOIN champ ON champ.account_id = A.account_id
    LEFT JOIN np ON np.account_id = A.account_id
    LEFT JOIN oc ON oc.account_id = A.account_id),
  r AS (
    SELECT *,
      CASE WHEN seats > 0 THEN CAST(mau AS DOUBLE) / CAST(seats AS DOUBLE)
           WHEN known_users > 0 THEN CAST(mau AS DOUBLE) / CAST(known_users AS DOUBLE) END AS breadth,
      CASE WHEN n_core > 0 THEN CAST(core_used AS DOUBLE) / CAST(n_core AS DOUBLE) END AS depth,
      CASE WHEN mau > 0 THEN (CAST(dau_sum AS DOUBLE) / ${D(28)}) / CAST(mau AS DOUBLE) END AS stickiness,
      CASE WHEN wau_prev > 0 THEN CAST(wau - wau_prev AS DOUBLE) / CAST(wau_prev AS DOUBLE) END AS wau_trend,
      CASE WHEN coh_n > 0 THEN CAST(coh_act AS DOUBLE) / CAST(coh_n AS DOUBLE) END AS activation_rate,
      CASE WHEN cons_n > 0 THEN CAST(cons_active AS DOUBLE) / CAST(cons_n AS DOUBLE) END AS consistency,
      CASE WHEN nps_n > 0 THEN CAST(100 * (nps_p - nps_d) AS DOUBLE) / CAST(nps_n AS DOUBLE) END AS nps,
      CASE WHEN dau_sum > 0 THEN CAST(events_28d AS DOUBLE) / CAST(dau_sum AS DOUBLE) END AS intensity
    FROM m),
  h AS ( -- health components, clamped to 0..100 (NULL stays NULL)
    SELECT *,
      ${clamp(`${D(100)} * breadth`)} AS c1,
      ${clamp(`${D(100)} * depth`)} AS c2,
      ${clamp(`${D(200)} * stickiness`)} AS c3,
      ${clamp(`${D(100)} * consistency`)} AS c4,
      ${clamp(`${D(50)} + ${D(100)} * wau_trend`)} AS c5,
      ${clamp(`(nps + ${D(100)}) / ${D(2)}`)} AS c6,
      ${clamp(`${D(100)} * intensity / ${D(settings.intensity_target)}`)} AS c7
    FROM r),
  lc_start AS (  -- starts: contract_start (00:00 of its day) and every subscription's start
    SELECT account_id, CAST(contract_start AS TIMESTAMP) AS t FROM accounts WHERE contract_start IS NOT NULL
    UNION ALL SELECT account_id, start_ts FROM subscriptions WHERE start_ts IS NOT NULL),
  lc_churn AS (  -- churns: churned_at (00:00 of its day) and every churn-table row
    SELECT account_id, CAST(churned_at AS TIMESTAMP) AS t FROM accounts WHERE churned_at IS NOT NULL
    UNION ALL SELECT account_id, ts FROM churns),
  ls AS (SELECT account_id, MAX(t) FILTER (WHERE t <= ${T}) AS last_start, BOOL_OR(t > ${T}) AS later_start
         FROM lc_start GROUP BY account_id),
  lch AS (SELECT account_id, MAX(t) FILTER (WHERE t <= ${T}) AS last_churn FROM lc_churn GROUP BY account_id),
  hw AS ( -- sum of the weights of the non-null components, in component order
    SELECT *,
      ((((((CASE WHEN c1 IS NULL THEN ${D(0)} ELSE ${D(w.breadth)} END)
        + CASE WHEN c2 IS NULL THEN ${D(0)} ELSE ${D(w.depth)} END)
        + CASE WHEN c3 IS NULL THEN ${D(0)} ELSE ${D(w.stickiness)} END)
        + CASE WHEN c4 IS NULL THEN ${D(0)} ELSE ${D(w.consistency)} END)
        + CASE WHEN c5 IS NULL THEN ${D(0)} ELSE ${D(w.trend)} END)
        + CASE WHEN c6 IS NULL THEN ${D(0)} ELSE ${D(w.nps)} END)
        + CASE WHEN c7 IS NULL THEN ${D(0)} ELSE ${D(w.intensity)} END AS wsum
    FROM h)
SELECT account_id, seats, known_users, dau, wau, wau_prev, mau, mau AS active_users,
  breadth, depth, stickiness, wau_trend, ttfv_days, activation_rate, consistency,
  champion_active, nps,
  CASE WHEN wsum > 0 THEN
    ((((((CASE WHEN c1 IS NULL THEN ${D(0)} ELSE (${D(w.breadth)} / wsum) * c1 END)
      + CASE WHEN c2 IS NULL THEN ${D(0)} ELSE (${D(w.depth)} / wsum) * c2 END)
      + CASE WHEN c3 IS NULL THEN ${D(0)} ELSE (${D(w.stickiness)} / wsum) * c3 END)
      + CASE WHEN c4 IS NULL THEN ${D(0)} ELSE (${D(w.consistency)} / wsum) * c4 END)
      + CASE WHEN c5 IS NULL THEN ${D(0)} ELSE (${D(w.trend)} / wsum) * c5 END)
      + CASE WHEN c6 IS NULL THEN ${D(0)} ELSE (${D(w.nps)} / wsum) * c6 END)
      + CASE WHEN c7 IS NULL THEN ${D(0)} ELSE (${D(w.intensity)} / wsum) * c7 END
  END AS health,
  CASE WHEN breadth IS NULL OR depth IS NULL
         OR breadth < ${D(settings.level_breadth_min)} OR depth < ${D(settings.level_depth_min)} THEN 'low'
       WHEN out_n > 0 AND out_all_on THEN 'effective'
       ELSE 'high' END AS level,
  -- status at T: churned when the latest churn <= T is later than the latest
  -- start <= T (or there is no start <= T); prospect when no start <= T but
  -- one after T; else customer
  CASE WHEN lch.last_churn IS NOT NULL AND (ls.last_start IS NULL OR lch.last_churn > ls.last_start) THEN 'churned'
       WHEN ls.last_start IS NULL AND ls.later_start THEN 'prospect'
       ELSE 'customer' END AS status,
  events_28d, intensity
FROM hw LEFT JOIN ls USING (account_id) LEFT JOIN lch USING (account_id)
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

  // User x feature adoption stage. A pair is (account_id, user_id); only
  // events with ts <= T count (ev). Blocks k = 0..3 are o // 7 for o in 0..27.
  const stageCommon = `
  ev AS (SELECT account_id, user_id, event, ts, (${D0} - CAST(ts AS DATE)) AS o
         FROM events WHERE ts <= ${T}),
  uses AS (   -- (pair, feature, day offset) of every use
    SELECT ev.account_id, ev.user_id, fe.feature, ev.o
    FROM ev JOIN m_feat_event fe ON fe.event = ev.event),
  us AS (
    SELECT account_id, user_id, feature,
      COUNT(DISTINCT o // 7) FILTER (WHERE o BETWEEN 0 AND 27) AS blocks,
      COUNT(DISTINCT o) FILTER (WHERE o BETWEEN 0 AND 27) AS days28
    FROM uses GROUP BY account_id, user_id, feature),
  adv AS (    -- pairs that used one of f's advanced events in window(28)
    SELECT DISTINCT ev.account_id, ev.user_id, fa.feature
    FROM ev JOIN m_feat_adv fa ON fa.event = ev.event WHERE ev.o BETWEEN 0 AND 27),
  expo AS (
    SELECT DISTINCT ev.account_id, ev.user_id, fx.feature
    FROM ev JOIN m_feat_expo fx ON fx.event = ev.event),
  rk AS (     -- the feature's users (days28 > 0, all accounts): how many used it on strictly more days
    SELECT account_id, user_id, feature,
      rank() OVER (PARTITION BY feature ORDER BY days28 DESC) - 1 AS more,
      COUNT(*) OVER (PARTITION BY feature) AS cnt
    FROM us WHERE days28 > 0),
  pf AS (SELECT account_id, user_id, feature FROM us UNION SELECT account_id, user_id, feature FROM expo),
  -- the accounts listed: the customers at T (status as in the accounts
  -- report; an account known only from events or the users table is one).
  -- The top decile above still ranks every account's pairs.
  lc_start AS (
    SELECT account_id, CAST(contract_start AS TIMESTAMP) AS t FROM accounts WHERE contract_start IS NOT NULL
    UNION ALL SELECT account_id, start_ts FROM subscriptions WHERE start_ts IS NOT NULL),
  lc_churn AS (
    SELECT account_id, CAST(churned_at AS TIMESTAMP) AS t FROM accounts WHERE churned_at IS NOT NULL
    UNION ALL SELECT account_id, ts FROM churns),
  ls AS (SELECT account_id, MAX(t) FILTER (WHERE t <= ${T}) AS last_start, BOOL_OR(t > ${T}) AS later_start
         FROM lc_start GROUP BY account_id),
  lch AS (SELECT account_id, MAX(t) FILTER (WHERE t <= ${T}) AS last_churn FROM lc_churn GROUP BY account_id),
  acct_all AS (SELECT account_id FROM accounts UNION SELECT account_id FROM ev UNION SELECT account_id FROM users),
  cust AS (
    SELECT account_id FROM acct_all LEFT JOIN ls USING (account_id) LEFT JOIN lch USING (account_id)
    WHERE NOT (lch.last_churn IS NOT NULL AND (ls.last_start IS NULL OR lch.last_churn > ls.last_start))
      AND NOT (ls.last_start IS NULL AND COALESCE(ls.later_start, false))),
  st AS (
    SELECT pf.account_id, pf.user_id, pf.feature,
      CASE WHEN us.account_id IS NULL THEN 'aware'
           WHEN us.blocks >= ${R} THEN
             CASE WHEN adv.account_id IS NOT NULL
                    OR CAST(rk.more AS BIGINT) * 1000000 < CAST(${topMicro} AS BIGINT) * CAST(rk.cnt AS BIGINT)
                  THEN 'mastery' ELSE 'regular' END
           ELSE 'trial' END AS stage,
      COALESCE(us.days28, 0) AS days_used_28d
    FROM pf
    LEFT JOIN us ON us.account_id = pf.account_id AND us.user_id = pf.user_id AND us.feature = pf.feature
    LEFT JOIN adv ON adv.account_id = pf.account_id AND adv.user_id = pf.user_id AND adv.feature = pf.feature
    LEFT JOIN rk ON rk.account_id = pf.account_id AND rk.user_id = pf.user_id AND rk.feature = pf.feature)`;

  const users = `
WITH ${stageCommon}
SELECT st.account_id, st.user_id, st.feature, st.stage, st.days_used_28d
FROM st JOIN m_feat f ON f.feature = st.feature
WHERE st.account_id IN (SELECT account_id FROM cust)
ORDER BY st.account_id, st.user_id, f.ord`;

  // The population of the funnel: every pair with any event up to T, or in
  // the users table with created_at <= T or empty (all accounts).
  const stages = `
WITH ${stageCommon},
  known AS (
    SELECT account_id, user_id FROM (
      SELECT account_id, user_id FROM ev
      UNION SELECT account_id, user_id FROM users WHERE created_at IS NULL OR created_at <= ${T})
    WHERE account_id IN (SELECT account_id FROM cust)),
  nk AS (SELECT COUNT(*) AS n FROM known),
  sc AS (
    SELECT feature,
      COUNT(*) FILTER (WHERE stage = 'aware') AS aware,
      COUNT(*) FILTER (WHERE stage = 'trial') AS trial,
      COUNT(*) FILTER (WHERE stage = 'regular') AS regular,
      COUNT(*) FILTER (WHERE stage = 'mastery') AS mastery
    FROM st WHERE account_id IN (SELECT account_id FROM cust) GROUP BY feature)
SELECT f.feature,
  nk.n - COALESCE(sc.aware + sc.trial + sc.regular + sc.mastery, 0) AS none,
  COALESCE(sc.aware, 0) AS aware, COALESCE(sc.trial, 0) AS trial,
  COALESCE(sc.regular, 0) AS regular, COALESCE(sc.mastery, 0) AS mastery
FROM m_feat f CROSS JOIN nk LEFT JOIN sc ON sc.feature = f.feature
ORDER BY f.ord`;

  return { accounts, features, users, stages };
}
