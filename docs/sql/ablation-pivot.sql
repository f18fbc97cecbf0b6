-- The paper's table: one row per method or ablation, one column per direction, cells "mean ± std" over
-- seeds of each task's headline metric (ave: accuracy, avvp: f1, retrieval: r@5), beside the pinned
-- baseline 'baseline'. Directions are source2target: a2v = head trained on audio codes, tested on video.
-- The same table with differences to the baseline, as LaTeX: unicode compare --format latex
SELECT dataset_name,
       task,
       metric,
       protocol,
       variant                                               AS method,
       max(n_seeds)                                          AS n_seeds,
       max(mean_pm_std) FILTER (WHERE direction = 'a2v')     AS a2v,
       max(mean_pm_std) FILTER (WHERE direction = 'v2a')     AS v2a,
       max(mean_pm_std) FILTER (WHERE direction = 'a2t')     AS a2t,
       max(mean_pm_std) FILTER (WHERE direction = 't2a')     AS t2a,
       max(mean_pm_std) FILTER (WHERE direction = 'v2t')     AS v2t,
       max(mean_pm_std) FILTER (WHERE direction = 't2v')     AS t2v,
       max(mean_pm_std) FILTER (WHERE direction = 'a2a')     AS a2a,
       max(mean_pm_std) FILTER (WHERE direction = 'v2v')     AS v2v,
       max(mean_pm_std) FILTER (WHERE direction = 't2t')     AS t2t
FROM v_ablation
WHERE baseline_name = 'baseline'
  AND metric IN ('accuracy', 'f1', 'r@5')
GROUP BY dataset_name, task, metric, protocol, split, setting_key, method_order, ablation, variant
ORDER BY dataset_name, task, metric, protocol, setting_key, method_order, ablation;
