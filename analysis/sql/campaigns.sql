-- Long memory campaigns (attack campaigns of more than two episodes sharing one memory store), per defense, model,
-- family (poisoned through content, or by a query alone) and episode position: the share of campaigns whose goal held in that episode, whose episode retrieved a poisoned
-- memory entry into a context, and whose memory held a poisoned entry active (or in quarantine) after it.
-- Errored episodes are left out.
SELECT defense, model, family, campaign_pos,
       count(*) AS n_campaigns,
       rate(count(*) FILTER (WHERE attack_success), count(*)) AS asr,
       wilson_lo(count(*) FILTER (WHERE attack_success), count(*)) AS asr_lo,
       wilson_hi(count(*) FILTER (WHERE attack_success), count(*)) AS asr_hi,
       rate(count(*) FILTER (WHERE poisoned_retrievals > 0), count(*)) AS poisoned_retrieval_rate,
       rate(count(*) FILTER (WHERE poisoned_active > 0), count(*)) AS poisoned_memory_rate,
       rate(count(*) FILTER (WHERE poisoned_quarantined > 0), count(*)) AS quarantined_memory_rate
FROM episodes
WHERE attack_id IS NOT NULL AND error IS NULL AND campaign_len > 2
GROUP BY ALL
ORDER BY ALL;
