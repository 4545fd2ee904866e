-- Paired comparison of configuration A (getvariable('config_a')) with B (getvariable('config_b')) on the same
-- units: attack campaigns (model, suite, agent system, case, seed) and benign episodes (…, task, seed). Errored
-- units on either side are left out and counted. One row per (model, metric). Attack units of a split either
-- configuration learned from are left out too: a learned layer's training score is not a comparison.
WITH
attack AS (
  SELECT a.model, 'asr' AS metric,
         count(*) FILTER (WHERE NOT a.errored AND NOT b.errored) AS n,
         count(*) FILTER (WHERE NOT a.errored AND NOT b.errored AND a.success AND b.success) AS n11,
         count(*) FILTER (WHERE NOT a.errored AND NOT b.errored AND a.success AND NOT b.success) AS n10,
         count(*) FILTER (WHERE NOT a.errored AND NOT b.errored AND NOT a.success AND b.success) AS n01,
         count(*) FILTER (WHERE NOT a.errored AND NOT b.errored AND NOT a.success AND NOT b.success) AS n00,
         count(*) FILTER (WHERE a.errored OR b.errored) AS errored
  FROM attack_pairs a JOIN attack_pairs b USING (model, suite, agent_system, attack_id, seed)
  WHERE a.defense = getvariable('config_a') AND b.defense = getvariable('config_b') AND NOT a.training AND NOT b.training
  GROUP BY a.model
),
benign AS (
  SELECT a.model, 'benign_utility' AS metric,
         count(*) FILTER (WHERE counted(a.error) AND counted(b.error)) AS n,
         count(*) FILTER (WHERE counted(a.error) AND counted(b.error) AND a.utility AND b.utility) AS n11,
         count(*) FILTER (WHERE counted(a.error) AND counted(b.error) AND a.utility AND NOT b.utility) AS n10,
         count(*) FILTER (WHERE counted(a.error) AND counted(b.error) AND NOT a.utility AND b.utility) AS n01,
         count(*) FILTER (WHERE counted(a.error) AND counted(b.error) AND NOT a.utility AND NOT b.utility) AS n00,
         count(*) FILTER (WHERE NOT counted(a.error) OR NOT counted(b.error)) AS errored
  FROM benign_episodes a JOIN benign_episodes b USING (model, suite, agent_system, user_task, seed)
  WHERE a.defense = getvariable('config_a') AND b.defense = getvariable('config_b')
  GROUP BY a.model
),
cells AS (SELECT * FROM attack UNION ALL SELECT * FROM benign)
SELECT getvariable('config_a') AS config_a, getvariable('config_b') AS config_b, model, metric, n,
       n11, n10, n01, n00, errored,
       rate(n11 + n10, n) AS rate_a,
       rate(n11 + n01, n) AS rate_b,
       rate(n01 - n10, n) AS difference,
       paired_diff_lo(n11, n10, n01, n00) AS difference_lo,
       paired_diff_hi(n11, n10, n01, n00) AS difference_hi,
       mcnemar_exact_p(n10, n01) AS mcnemar_p
FROM cells WHERE n > 0
ORDER BY model, metric;
