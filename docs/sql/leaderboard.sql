-- Leaderboard: every method and ablation per dataset, task, direction and metric, best mean first.
-- mean ± sample std (n − 1) over seeds; each seed counts once, with its most recent evaluation.
-- The same table in the terminal: unicode results
SELECT dataset_name,
       task,
       metric,
       protocol,
       split,
       direction,
       rank,
       variant                     AS method,
       modalities,
       codebook_size,
       n_seeds,
       round(mean::numeric, 2)     AS mean,
       round(std::numeric, 2)      AS std,
       round(best::numeric, 2)     AS best,
       seeds
FROM v_leaderboard
WHERE metric <> 'epoch'
ORDER BY dataset_name, task, metric, protocol, split, direction, rank, method_order, ablation;
