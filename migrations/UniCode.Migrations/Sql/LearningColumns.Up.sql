-- Migration LearningColumns (issue 9): v_leaderboard gains the learning check of every score beside it, so a
-- result that did not learn cannot pass for one. Each run writes, beside each direction's accuracy / f1 / r@5, the
-- rows 'learned' (1 or 0), 'collapsed' (1 or 0: the target modality's codes), 'chance' (accuracy only) and
-- 'probe_ceiling' (the raw-feature probe of the target modality, classification only). The new columns are their
-- means over the same seeds' group (same dataset, task, direction, split, protocol, method, ablation, setting):
--   learned_share    share of seeds whose run learned (1 = all, 0 = none)
--   collapsed_share  share of seeds whose target codes collapsed
--   chance           100 / classes
--   probe_ceiling    the raw-feature probe's mean (the ceiling a head on codes is read against)
-- They are NULL on rows of other metrics and for results recorded before the check existed.
-- CREATE OR REPLACE keeps the existing columns (and the analyst's SELECT grant) and appends the new ones.
CREATE OR REPLACE VIEW v_leaderboard AS
WITH samples AS (
    SELECT DISTINCT ON (dataset_hash, task, direction, split, protocol, metric, method, ablation, setting_key, seed, eval_seed)
        *
    FROM v_results
    ORDER BY dataset_hash, task, direction, split, protocol, metric, method, ablation, setting_key, seed, eval_seed,
             created_at DESC, checkpoint_step DESC, result_id
), stats AS (
    SELECT
        dataset_name, dataset_hash, task, direction, split, protocol, metric,
        method, ablation, variant, method_order,
        modalities, codebook_size, code_dim, pretrain_epochs, setting_key,
        count(*)                           AS n_seeds,
        avg(value)                         AS mean,
        stddev_samp(value)                 AS std,
        max(value)                         AS best,
        min(value)                         AS worst,
        array_agg(seed ORDER BY seed, eval_seed) AS seeds,
        max(created_at)                    AS last_result_at
    FROM samples
    GROUP BY dataset_name, dataset_hash, task, direction, split, protocol, metric,
             method, ablation, variant, method_order, modalities, codebook_size, code_dim, pretrain_epochs, setting_key
), checks AS (
    SELECT dataset_hash, task, direction, split, protocol, method, ablation, setting_key,
        avg(mean) FILTER (WHERE metric = 'learned')       AS learned_share,
        avg(mean) FILTER (WHERE metric = 'collapsed')     AS collapsed_share,
        avg(mean) FILTER (WHERE metric = 'chance')        AS chance,
        avg(mean) FILTER (WHERE metric = 'probe_ceiling') AS probe_ceiling
    FROM stats
    WHERE metric IN ('learned', 'collapsed', 'chance', 'probe_ceiling')
    GROUP BY dataset_hash, task, direction, split, protocol, method, ablation, setting_key
)
SELECT
    stats.*,
    rank() OVER (PARTITION BY stats.dataset_hash, stats.task, stats.direction, stats.split, stats.protocol, stats.metric ORDER BY stats.mean DESC) AS rank,
    CASE WHEN stats.metric IN ('accuracy', 'f1', 'r@5') THEN checks.learned_share END   AS learned_share,
    CASE WHEN stats.metric IN ('accuracy', 'f1', 'r@5') THEN checks.collapsed_share END AS collapsed_share,
    CASE WHEN stats.metric = 'accuracy' THEN checks.chance END                          AS chance,
    CASE WHEN stats.metric = 'accuracy' THEN checks.probe_ceiling END                   AS probe_ceiling
FROM stats
LEFT JOIN checks
       ON checks.dataset_hash = stats.dataset_hash AND checks.task = stats.task AND checks.direction = stats.direction
      AND checks.split = stats.split AND checks.protocol = stats.protocol AND checks.method = stats.method
      AND checks.ablation = stats.ablation AND checks.setting_key = stats.setting_key
ORDER BY stats.dataset_name, stats.task, stats.metric, stats.protocol, stats.split, stats.direction, stats.mean DESC, stats.method_order, stats.ablation;
