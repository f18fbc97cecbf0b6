-- How far each method is from the pinned baseline, per direction (delta > 0: better than the baseline).
-- The baseline row is the one with the same dataset, task, direction, split, protocol, metric and setting
-- (the same pre-training hyper-parameters except the method switches).
--
-- Pins live in pinned_baselines (the database owner writes them; analysts read):
--   INSERT INTO pinned_baselines (name, method, ablation) VALUES ('vs-dcid', 'dcid-cmcm', '');
--   INSERT INTO pinned_baselines (name, method, ablation, task) VALUES ('ave-vs-cmcm', 'cmcm', '', 'ave');
-- Any method against any other without a pin: SELECT * FROM unicode_ablation_vs('dcid-cmcm');
-- (custom variants: unicode_ablation_vs('custom', 'w/o CLUB')).
SELECT baseline_name,
       baseline_variant,
       dataset_name,
       task,
       metric,
       direction,
       variant                              AS method,
       n_seeds,
       round(mean::numeric, 2)              AS mean,
       round(baseline_mean::numeric, 2)     AS baseline_mean,
       round(delta::numeric, 2)             AS delta,
       -- delta in units of the two spreads: a rough guide to how much the seeds agree
       round((delta / NULLIF(sqrt((coalesce(std, 0) ^ 2 + coalesce(baseline_std, 0) ^ 2) / 2), 0))::numeric, 2) AS delta_over_std
FROM v_ablation
WHERE NOT is_baseline
  AND delta IS NOT NULL
  AND metric <> 'epoch'
ORDER BY baseline_name, dataset_name, task, metric, direction, delta DESC;
