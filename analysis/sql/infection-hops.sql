-- For the spread chart: the share of multi-agent attack episodes whose infection reached at least `hops` hand-offs
-- from the agent the attack first reached (hops 0: any agent was infected), per defense, model and agent system.
SELECT defense, model, agent_system, h.hops,
       rate(count(*) FILTER (WHERE spread_depth >= h.hops), count(*)) AS share,
       wilson_lo(count(*) FILTER (WHERE spread_depth >= h.hops), count(*)) AS share_lo,
       wilson_hi(count(*) FILTER (WHERE spread_depth >= h.hops), count(*)) AS share_hi
FROM episodes, range(0, 4) h(hops)
WHERE attack_id IS NOT NULL AND error IS NULL AND agents_total > 1
GROUP BY ALL
ORDER BY ALL;
