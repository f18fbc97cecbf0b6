-- The lineage of one checkpoint: its ancestors up to the root (following parent_sha256), then every
-- checkpoint trained from it, with run kind, method, aliases and result counts. generation < 0: ancestors.
-- Put your checkpoint's sha256 into `target` (here: the newest checkpoint that has a parent, else the newest).
-- The same in the terminal: unicode checkpoints --lineage SHA|ALIAS
WITH RECURSIVE
target AS (
    SELECT sha256 FROM checkpoints
    ORDER BY (parent_sha256 IS NOT NULL) DESC, created_at DESC, sha256
    LIMIT 1
    -- SELECT '<sha256 of your checkpoint>'::text AS sha256
),
ancestors (sha256, parent_sha256, generation) AS (
    SELECT c.sha256, c.parent_sha256, 0
    FROM checkpoints c JOIN target t ON t.sha256 = c.sha256
    UNION ALL
    SELECT p.sha256, p.parent_sha256, a.generation - 1
    FROM ancestors a JOIN checkpoints p ON p.sha256 = a.parent_sha256
    WHERE a.generation > -1000
),
descendants (sha256, parent_sha256, generation) AS (
    SELECT c.sha256, c.parent_sha256, 0
    FROM checkpoints c JOIN target t ON t.sha256 = c.sha256
    UNION ALL
    SELECT ch.sha256, ch.parent_sha256, d.generation + 1
    FROM descendants d JOIN checkpoints ch ON ch.parent_sha256 = d.sha256
    WHERE d.generation < 1000
)
SELECT l.generation,
       left(v.sha256, 12)        AS checkpoint,
       left(v.parent_sha256, 12) AS parent,
       v.run_kind,
       v.variant                 AS method,
       v.seed,
       v.step,
       v.epoch,
       v.aliases,
       v.n_results,
       v.uri,
       v.created_at
FROM (SELECT sha256, generation FROM ancestors UNION SELECT sha256, generation FROM descendants) l
JOIN v_checkpoints v ON v.sha256 = l.sha256
ORDER BY l.generation, v.created_at, v.sha256;
