-- Down of LearningColumns: v_leaderboard as ResultsViews created it (a view cannot lose columns by CREATE OR
-- REPLACE, so it is dropped and created again; nothing depends on it but the SQL body of unicode_ablation_vs,
-- which PostgreSQL does not track), then the analyst's SELECT on every table and view again.
DROP VIEW v_leaderboard;
CREATE VIEW v_leaderboard AS
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
)
SELECT
    stats.*,
    rank() OVER (PARTITION BY dataset_hash, task, direction, split, protocol, metric ORDER BY mean DESC) AS rank
FROM stats
ORDER BY dataset_name, task, metric, protocol, split, direction, mean DESC, method_order, ablation;

CALL unicode_grant_analyst();
