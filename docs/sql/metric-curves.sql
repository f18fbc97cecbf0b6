-- The scalars one run logged (metric_points): one row per key and step, with the change since the previous
-- step and a moving average over 5 steps (for plotting loss curves).
-- Put your run id into `target` (here: the newest run that logged anything).
WITH target AS (
    SELECT r.id AS run_id
    FROM runs r
    WHERE EXISTS (SELECT 1 FROM metric_points mp WHERE mp.run_id = r.id)
    ORDER BY r.created_at DESC, r.id
    LIMIT 1
    -- SELECT '<run id>'::uuid AS run_id
)
SELECT mp.run_id,
       r.kind,
       unicode_variant(unicode_method(r.config_json), unicode_ablation(r.config_json)) AS method,
       r.seed,
       mp.key,
       mp.step,
       mp.value,
       mp.value - lag(mp.value) OVER w                                            AS change,
       avg(mp.value) OVER (w ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)            AS moving_average_5,
       mp.recorded_at
FROM metric_points mp
JOIN target t ON t.run_id = mp.run_id
JOIN runs r ON r.id = mp.run_id
WINDOW w AS (PARTITION BY mp.key ORDER BY mp.step)
ORDER BY mp.key, mp.step;
