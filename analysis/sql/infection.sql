-- Spread of attacks through multi-agent systems (episodes of attack campaigns with more than one agent), per
-- {{keys}}. Errored episodes are left out. Agents of one episode are not independent draws: the Wilson interval on
-- infection_rate treats them as if they were, so read it as a lower bound on the uncertainty.
SELECT {{keys}},
       count(*) AS n_episodes,
       sum(agents_total) AS n_agents,
       sum(agents_infected) AS n_infected,
       rate(sum(agents_infected), sum(agents_total)) AS infection_rate,
       wilson_lo(sum(agents_infected), sum(agents_total)) AS infection_rate_lo,
       wilson_hi(sum(agents_infected), sum(agents_total)) AS infection_rate_hi,
       rate(count(*) FILTER (WHERE spread_depth >= 1), count(*)) AS spread_rate,
       wilson_lo(count(*) FILTER (WHERE spread_depth >= 1), count(*)) AS spread_rate_lo,
       wilson_hi(count(*) FILTER (WHERE spread_depth >= 1), count(*)) AS spread_rate_hi,
       avg(spread_depth) AS mean_spread_depth,
       max(spread_depth) AS max_spread_depth,
       sum(secondary_infections)::DOUBLE / nullif(sum(agents_infected), 0) AS secondary_per_infected,
       rate(count(containment_steps), count(*) FILTER (WHERE agents_exposed > 0)) AS containment_rate,
       median(containment_steps) AS median_containment_steps
FROM episodes
WHERE attack_id IS NOT NULL AND error IS NULL AND agents_total > 1
GROUP BY ALL
ORDER BY ALL;
