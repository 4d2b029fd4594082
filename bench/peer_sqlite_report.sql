-- SQLite peer, report phase: the account metrics and feature adoption of
-- ../shared/spec/metrics.md over the tables of peer_sqlite_load.sql and the
-- model relations (m_passive, m_feat, m_feat_event, m_key_action).
-- Parameters (set by peer_sqlite.sh): @d0 = the as-of day (UTC day number),
-- @t = T in epoch seconds (last second of D0), @a = activation days,
-- @npsw = nps window days, @pmin/@dmax = promoter/detractor thresholds,
-- @w1..@w6 = health weights. o = @d0 - d is the day offset of an event.
-- Same definitions and choices as bench/metrics_sql.mjs (read it for the
-- comments); floats leave as %!.17g and peer_sqlite.sh reformats them.
CREATE TEMP TABLE ev AS
  SELECT account_id, user_id, event, t, @d0 - d AS o FROM events WHERE t <= @t;
CREATE TEMP TABLE acct AS
  SELECT account_id FROM accounts UNION SELECT account_id FROM ev;
CREATE TEMP TABLE A AS
  SELECT acct.account_id, COALESCE(a.seats, 0) AS seats, a.cs AS cs
  FROM acct LEFT JOIN accounts a ON a.account_id = acct.account_id;
CREATE TEMP TABLE act AS
  SELECT DISTINCT account_id, user_id, o FROM ev
  WHERE o BETWEEN 0 AND 83 AND event NOT IN (SELECT event FROM m_passive);
CREATE INDEX temp.act_i ON act(account_id, user_id, o);
CREATE TEMP TABLE cnt AS
  SELECT account_id,
    COUNT(DISTINCT user_id) FILTER (WHERE o = 0) AS dau,
    COUNT(DISTINCT user_id) FILTER (WHERE o BETWEEN 0 AND 6) AS wau,
    COUNT(DISTINCT user_id) FILTER (WHERE o BETWEEN 7 AND 13) AS wau_prev,
    COUNT(DISTINCT user_id) FILTER (WHERE o BETWEEN 0 AND 27) AS mau,
    COUNT(*) FILTER (WHERE o BETWEEN 0 AND 27) AS dau_sum
  FROM act GROUP BY account_id;
CREATE TEMP TABLE ka AS  -- key actions up to T
  SELECT account_id, user_id, t FROM ev WHERE event IN (SELECT event FROM m_key_action);
CREATE INDEX temp.ka_i ON ka(account_id, user_id, t);
CREATE TEMP TABLE fu AS
  SELECT account_id, feature, COUNT(*) AS users FROM (
    SELECT DISTINCT ev.account_id, ev.user_id, fe.feature
    FROM ev JOIN m_feat_event fe ON fe.event = ev.event
    WHERE ev.o BETWEEN 0 AND 27)
  GROUP BY account_id, feature;

.headers on
.mode csv
.once __OUT__/accounts.csv
WITH
  known AS (
    SELECT account_id, user_id FROM users WHERE created_at IS NULL OR created_at <= @t
    UNION SELECT e.account_id, e.user_id FROM ev e
      WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.account_id = e.account_id AND u.user_id = e.user_id)),
  kn AS (SELECT account_id, COUNT(*) AS known_users FROM known GROUP BY account_id),
  ncore AS (SELECT COUNT(*) AS n FROM m_feat WHERE core = 1),
  dep AS (
    SELECT fu.account_id, COUNT(*) AS core_used
    FROM fu JOIN m_feat f ON f.feature = fu.feature AND f.core = 1 GROUP BY fu.account_id),
  ttfv AS (
    SELECT account_id, MIN(t) AS first_ka FROM ka GROUP BY account_id),
  cohort AS (
    SELECT account_id, user_id, created_at FROM users
    WHERE created_at IS NOT NULL
      AND @d0 - (CASE WHEN created_at >= 0 THEN created_at / 86400 ELSE (created_at - 86399) / 86400 END)
          BETWEEN @a AND @a + 27),
  activ AS (
    SELECT c.account_id, COUNT(*) AS n,
      SUM(EXISTS (SELECT 1 FROM ka e
                  WHERE e.account_id = c.account_id AND e.user_id = c.user_id
                    AND e.t >= c.created_at AND e.t <= c.created_at + @a * 86400)) AS activated
    FROM cohort c GROUP BY c.account_id),
  k(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM k WHERE k < 11),
  blk AS (
    SELECT A.account_id, k.k,
      EXISTS (SELECT 1 FROM act WHERE act.account_id = A.account_id
              AND act.o BETWEEN 7 * k.k AND 7 * k.k + 6) AS active
    FROM A CROSS JOIN k
    WHERE A.cs IS NULL OR (@d0 - A.cs) >= 7 * k.k + 6),
  cons AS (SELECT account_id, COUNT(*) AS n, SUM(active) AS active FROM blk GROUP BY account_id),
  champ AS (
    SELECT u.account_id,
      MIN(EXISTS (SELECT 1 FROM act WHERE act.account_id = u.account_id
                  AND act.user_id = u.user_id AND act.o BETWEEN 0 AND 13)) AS all_active
    FROM users u
    WHERE lower(trim(u.role, ' ' || char(9) || char(10) || char(13) || char(11) || char(12))) = 'champion'
      AND (u.created_at IS NULL OR u.created_at <= @t)
    GROUP BY u.account_id),
  np AS (
    SELECT account_id, COUNT(*) AS n,
      COUNT(*) FILTER (WHERE score >= @pmin) AS p,
      COUNT(*) FILTER (WHERE score <= @dmax) AS d
    FROM surveys
    WHERE lower(trim(kind)) = 'nps' AND score IS NOT NULL
      AND t >= (@d0 - (@npsw - 1)) * 86400 AND t <= @t
    GROUP BY account_id),
  m AS (
    SELECT A.account_id, A.seats,
      COALESCE(kn.known_users, 0) AS known_users,
      COALESCE(cnt.dau, 0) AS dau, COALESCE(cnt.wau, 0) AS wau,
      COALESCE(cnt.wau_prev, 0) AS wau_prev, COALESCE(cnt.mau, 0) AS mau,
      COALESCE(cnt.dau_sum, 0) AS dau_sum,
      COALESCE(dep.core_used, 0) AS core_used, ncore.n AS n_core,
      CASE WHEN ttfv.first_ka IS NOT NULL AND A.cs IS NOT NULL
           THEN max((CASE WHEN ttfv.first_ka >= 0 THEN ttfv.first_ka / 86400 ELSE (ttfv.first_ka - 86399) / 86400 END) - A.cs, 0) END AS ttfv_days,
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
      CASE WHEN seats > 0 THEN CAST(mau AS REAL) / CAST(seats AS REAL)
           WHEN known_users > 0 THEN CAST(mau AS REAL) / CAST(known_users AS REAL) END AS breadth,
      CASE WHEN n_core > 0 THEN CAST(core_used AS REAL) / CAST(n_core AS REAL) END AS depth,
      CASE WHEN mau > 0 THEN (CAST(dau_sum AS REAL) / 28.0) / CAST(mau AS REAL) END AS stickiness,
      CASE WHEN wau_prev > 0 THEN CAST(wau - wau_prev AS REAL) / CAST(wau_prev AS REAL) END AS wau_trend,
      CASE WHEN coh_n > 0 THEN CAST(coh_act AS REAL) / CAST(coh_n AS REAL) END AS activation_rate,
      CASE WHEN cons_n > 0 THEN CAST(cons_active AS REAL) / CAST(cons_n AS REAL) END AS consistency,
      CASE WHEN nps_n > 0 THEN CAST(100 * (nps_p - nps_d) AS REAL) / CAST(nps_n AS REAL) END AS nps
    FROM m),
  h0 AS (
    SELECT *, 100.0 * breadth AS x1, 100.0 * depth AS x2, 200.0 * stickiness AS x3,
      100.0 * consistency AS x4, 50.0 + 100.0 * wau_trend AS x5, (nps + 100.0) / 2.0 AS x6
    FROM r),
  h AS (
    SELECT *,
      CASE WHEN x1 IS NULL THEN NULL WHEN x1 < 0 THEN 0.0 WHEN x1 > 100 THEN 100.0 ELSE x1 END AS c1,
      CASE WHEN x2 IS NULL THEN NULL WHEN x2 < 0 THEN 0.0 WHEN x2 > 100 THEN 100.0 ELSE x2 END AS c2,
      CASE WHEN x3 IS NULL THEN NULL WHEN x3 < 0 THEN 0.0 WHEN x3 > 100 THEN 100.0 ELSE x3 END AS c3,
      CASE WHEN x4 IS NULL THEN NULL WHEN x4 < 0 THEN 0.0 WHEN x4 > 100 THEN 100.0 ELSE x4 END AS c4,
      CASE WHEN x5 IS NULL THEN NULL WHEN x5 < 0 THEN 0.0 WHEN x5 > 100 THEN 100.0 ELSE x5 END AS c5,
      CASE WHEN x6 IS NULL THEN NULL WHEN x6 < 0 THEN 0.0 WHEN x6 > 100 THEN 100.0 ELSE x6 END AS c6
    FROM h0),
  hw AS (
    SELECT *,
      (((((CASE WHEN c1 IS NULL THEN 0.0 ELSE @w1 END)
        + CASE WHEN c2 IS NULL THEN 0.0 ELSE @w2 END)
        + CASE WHEN c3 IS NULL THEN 0.0 ELSE @w3 END)
        + CASE WHEN c4 IS NULL THEN 0.0 ELSE @w4 END)
        + CASE WHEN c5 IS NULL THEN 0.0 ELSE @w5 END)
        + CASE WHEN c6 IS NULL THEN 0.0 ELSE @w6 END AS wsum
    FROM h),
  fin AS (
    SELECT account_id, seats, known_users, dau, wau, wau_prev, mau, mau AS active_users,
      breadth, depth, stickiness, wau_trend, ttfv_days, activation_rate, consistency,
      champion_active, nps,
      CASE WHEN wsum > 0 THEN
        (((((CASE WHEN c1 IS NULL THEN 0.0 ELSE (@w1 / wsum) * c1 END)
          + CASE WHEN c2 IS NULL THEN 0.0 ELSE (@w2 / wsum) * c2 END)
          + CASE WHEN c3 IS NULL THEN 0.0 ELSE (@w3 / wsum) * c3 END)
          + CASE WHEN c4 IS NULL THEN 0.0 ELSE (@w4 / wsum) * c4 END)
          + CASE WHEN c5 IS NULL THEN 0.0 ELSE (@w5 / wsum) * c5 END)
          + CASE WHEN c6 IS NULL THEN 0.0 ELSE (@w6 / wsum) * c6 END
      END AS health
    FROM hw)
SELECT account_id, seats, known_users, dau, wau, wau_prev, mau, active_users,
  CASE WHEN breadth IS NOT NULL THEN printf('%!.17g', breadth) END AS breadth, CASE WHEN depth IS NOT NULL THEN printf('%!.17g', depth) END AS depth,
  CASE WHEN stickiness IS NOT NULL THEN printf('%!.17g', stickiness) END AS stickiness, CASE WHEN wau_trend IS NOT NULL THEN printf('%!.17g', wau_trend) END AS wau_trend,
  ttfv_days, CASE WHEN activation_rate IS NOT NULL THEN printf('%!.17g', activation_rate) END AS activation_rate,
  CASE WHEN consistency IS NOT NULL THEN printf('%!.17g', consistency) END AS consistency,
  CASE champion_active WHEN 1 THEN 'true' WHEN 0 THEN 'false' END AS champion_active,
  CASE WHEN nps IS NOT NULL THEN printf('%!.17g', nps) END AS nps, CASE WHEN health IS NOT NULL THEN printf('%!.17g', health) END AS health
FROM fin ORDER BY account_id;

.once __OUT__/features.csv
WITH mau AS (SELECT account_id, COUNT(DISTINCT user_id) AS mau FROM act WHERE o BETWEEN 0 AND 27 GROUP BY account_id)
SELECT A.account_id, f.feature, COALESCE(fu.users, 0) AS users, COALESCE(mau.mau, 0) AS active_users,
  CASE WHEN mau.mau > 0 THEN printf('%!.17g', CAST(COALESCE(fu.users, 0) AS REAL) / CAST(mau.mau AS REAL)) END AS feature_adoption
FROM A CROSS JOIN m_feat f
LEFT JOIN fu ON fu.account_id = A.account_id AND fu.feature = f.feature
LEFT JOIN mau ON mau.account_id = A.account_id
ORDER BY A.account_id, f.ord;
