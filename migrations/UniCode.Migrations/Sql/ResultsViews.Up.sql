-- Migration 20261125160000_ResultsViews, Up: the analyst layer over the results tables.
-- Plain SQL, no EF model change. Everything here is described in docs/sql/README.md.

-- ------------------------------------------------------------------ pinned baselines
-- A comparison's reference row. v_ablation has one block of rows per pin; `unicode compare --baseline NAME`
-- uses a pin by name. dataset_hash / task NULL: the pin applies to every dataset / task.
CREATE TABLE pinned_baselines (
    name         text        PRIMARY KEY,
    method       text        NOT NULL,
    ablation     text        NOT NULL DEFAULT '',
    dataset_hash text        NULL,
    task         text        NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_pinned_baselines_method CHECK (method IN ('baseline', 'cmcm', 'dcid-cmcm', 'unicode', 'custom', 'unknown')),
    CONSTRAINT ck_pinned_baselines_dataset_hash CHECK (dataset_hash IS NULL OR dataset_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT ck_pinned_baselines_name CHECK (length(name) > 0)
);

INSERT INTO pinned_baselines (name, method, ablation) VALUES ('baseline', 'baseline', '');

-- ------------------------------------------------------------------ config → method
-- A pre-training config is UniCodeConfig's canonical JSON (camelCase). A missing switch has the record's
-- default (on), as UniCodeConfig.FromJson reads it; a config with none of the five switches is no
-- UniCode config at all (method 'unknown').

CREATE FUNCTION unicode_switch(config jsonb, field text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE((config ->> field)::boolean, true)
$$;

CREATE FUNCTION unicode_has_switches(config jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT config IS NOT NULL AND jsonb_typeof(config) = 'object'
       AND (config -> 'useClub' IS NOT NULL OR config -> 'useCpc' IS NOT NULL OR config -> 'useMultiModalEma' IS NOT NULL
            OR config -> 'useCodeReset' IS NOT NULL OR config -> 'useCmcm' IS NOT NULL)
$$;

-- The paper's methods (Table 1) as UniCodeConfig.WithMethod sets the switches
-- (CLUB, Cross-CPC, Multi-Modal EMA, code reset, CMCM); anything else is 'custom'.
CREATE FUNCTION unicode_method(config jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN NOT unicode_has_switches(config) THEN 'unknown'
        WHEN ROW(unicode_switch(config, 'useClub'), unicode_switch(config, 'useCpc'), unicode_switch(config, 'useMultiModalEma'),
                 unicode_switch(config, 'useCodeReset'), unicode_switch(config, 'useCmcm')) = ROW(false, false, false, false, false) THEN 'baseline'
        WHEN ROW(unicode_switch(config, 'useClub'), unicode_switch(config, 'useCpc'), unicode_switch(config, 'useMultiModalEma'),
                 unicode_switch(config, 'useCodeReset'), unicode_switch(config, 'useCmcm')) = ROW(false, false, false, false, true) THEN 'cmcm'
        WHEN ROW(unicode_switch(config, 'useClub'), unicode_switch(config, 'useCpc'), unicode_switch(config, 'useMultiModalEma'),
                 unicode_switch(config, 'useCodeReset'), unicode_switch(config, 'useCmcm')) = ROW(true, true, false, false, true) THEN 'dcid-cmcm'
        WHEN ROW(unicode_switch(config, 'useClub'), unicode_switch(config, 'useCpc'), unicode_switch(config, 'useMultiModalEma'),
                 unicode_switch(config, 'useCodeReset'), unicode_switch(config, 'useCmcm')) = ROW(true, true, true, true, true) THEN 'unicode'
        ELSE 'custom'
    END
$$;

-- Row order of comparison tables: the paper's Table 1 order, then custom variants.
CREATE FUNCTION unicode_method_order(method text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE method WHEN 'baseline' THEN 1 WHEN 'cmcm' THEN 2 WHEN 'dcid-cmcm' THEN 3 WHEN 'unicode' THEN 4
                       WHEN 'custom' THEN 5 ELSE 6 END
$$;

-- A custom config's switches relative to Uni-Code, labelled as Ablation.Label does ('w/o CLUB, w/o reset');
-- '' for the named methods.
CREATE FUNCTION unicode_ablation(config jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN unicode_method(config) = 'custom' THEN concat_ws(', ',
        CASE WHEN NOT unicode_switch(config, 'useClub') THEN 'w/o CLUB' END,
        CASE WHEN NOT unicode_switch(config, 'useCpc') THEN 'w/o Cross-CPC' END,
        CASE WHEN NOT unicode_switch(config, 'useMultiModalEma') THEN 'w/o MM-EMA' END,
        CASE WHEN NOT unicode_switch(config, 'useCodeReset') THEN 'w/o reset' END,
        CASE WHEN NOT unicode_switch(config, 'useCmcm') THEN 'w/o CMCM' END)
    ELSE '' END
$$;

-- One display name per (method, ablation): 'baseline' … 'unicode', 'unicode w/o CLUB'.
CREATE FUNCTION unicode_variant(method text, ablation text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN method = 'custom' THEN 'unicode ' || ablation ELSE method END
$$;

-- 'av', 'at', 'vt' or 'avt' from the config's modalities ("audioVisual", "audioVisualText", …; default av).
CREATE FUNCTION unicode_modalities(config jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN config ->> 'modalities' IS NULL THEN CASE WHEN unicode_has_switches(config) THEN 'av' END
        ELSE concat(
            CASE WHEN lower(config ->> 'modalities') LIKE '%audio%' THEN 'a' END,
            CASE WHEN lower(config ->> 'modalities') ~ '(visual|video)' THEN 'v' END,
            CASE WHEN lower(config ->> 'modalities') LIKE '%text%' THEN 't' END)
    END
$$;

-- 'audio' → 'a', 'video' → 'v', 'text' → 't' (Modality.Letter); other names pass through.
CREATE FUNCTION unicode_modality_letter(modality text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE lower(modality) WHEN 'audio' THEN 'a' WHEN 'video' THEN 'v' WHEN 'text' THEN 't' ELSE lower(modality) END
$$;

-- The pre-training hyper-parameters without the method switches and the seed: two configs with the same
-- setting key differ only in method/ablation and seed, so their results may be compared and averaged.
CREATE FUNCTION unicode_setting_key(config jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(md5((config - ARRAY['seed', 'useClub', 'useCpc', 'useMultiModalEma', 'useCodeReset', 'useCmcm'])::text), 12)
$$;

-- ------------------------------------------------------------------ checkpoint → its pre-training run
-- The nearest checkpoint on the lineage (itself, its parent, …) that a 'pretrain' run wrote; a checkpoint
-- with no pre-trained ancestor maps to its own run. A fine-tuned checkpoint thus gets its encoder's method.
CREATE VIEW v_checkpoint_origin AS
WITH RECURSIVE up (checkpoint_sha256, ancestor_sha256, parent_sha256, depth, path) AS (
    SELECT c.sha256, c.sha256, c.parent_sha256, 0, ARRAY[c.sha256]
    FROM checkpoints c
    UNION ALL
    SELECT up.checkpoint_sha256, p.sha256, p.parent_sha256, up.depth + 1, up.path || p.sha256
    FROM up JOIN checkpoints p ON p.sha256 = up.parent_sha256
    WHERE NOT p.sha256 = ANY (up.path)
)
SELECT DISTINCT ON (up.checkpoint_sha256)
    up.checkpoint_sha256,
    up.ancestor_sha256 AS pretrain_checkpoint_sha256,
    a.run_id           AS pretrain_run_id,
    up.depth
FROM up
JOIN checkpoints a ON a.sha256 = up.ancestor_sha256
JOIN runs r ON r.id = a.run_id
ORDER BY up.checkpoint_sha256, (r.kind = 'pretrain') DESC, up.depth;

-- ------------------------------------------------------------------ v_results
-- One row per downstream result, with the pre-training run that made its encoder.
CREATE VIEW v_results AS
SELECT
    dr.id                                                   AS result_id,
    COALESCE(d.name, 'sha256:' || left(dr.dataset_hash, 12)) AS dataset_name,
    dr.dataset_hash,
    dr.task,
    unicode_modality_letter(dr.source_modality) || '2' || unicode_modality_letter(dr.target_modality) AS direction,
    dr.source_modality,
    dr.target_modality,
    dr.split,
    dr.protocol,
    dr.metric,
    dr.value,
    unicode_method(pr.config_json)                          AS method,
    unicode_ablation(pr.config_json)                        AS ablation,
    unicode_variant(unicode_method(pr.config_json), unicode_ablation(pr.config_json)) AS variant,
    unicode_method_order(unicode_method(pr.config_json))    AS method_order,
    CASE WHEN unicode_has_switches(pr.config_json) THEN unicode_switch(pr.config_json, 'useClub') END          AS use_club,
    CASE WHEN unicode_has_switches(pr.config_json) THEN unicode_switch(pr.config_json, 'useCpc') END           AS use_cpc,
    CASE WHEN unicode_has_switches(pr.config_json) THEN unicode_switch(pr.config_json, 'useMultiModalEma') END AS use_multi_modal_ema,
    CASE WHEN unicode_has_switches(pr.config_json) THEN unicode_switch(pr.config_json, 'useCodeReset') END     AS use_code_reset,
    CASE WHEN unicode_has_switches(pr.config_json) THEN unicode_switch(pr.config_json, 'useCmcm') END          AS use_cmcm,
    unicode_modalities(pr.config_json)                      AS modalities,
    (pr.config_json ->> 'codebookSize')::integer            AS codebook_size,
    (pr.config_json ->> 'codeDim')::integer                 AS code_dim,
    (pr.config_json ->> 'epochs')::integer                  AS pretrain_epochs,
    pr.config_json ->> 'precision'                          AS precision,
    unicode_setting_key(pr.config_json)                     AS setting_key,
    pr.seed,
    dr.seed                                                 AS eval_seed,
    pr.id                                                   AS pretrain_run_id,
    pr.config_hash,
    pr.config_json                                          AS config,
    pr.code_version,
    pr.code_dirty,
    dr.eval_code_version,
    dr.checkpoint_sha256,
    c.step                                                  AS checkpoint_step,
    c.epoch                                                 AS checkpoint_epoch,
    o.pretrain_checkpoint_sha256,
    dr.run_id                                               AS eval_run_id,
    dr.created_at
FROM downstream_results dr
JOIN checkpoints c ON c.sha256 = dr.checkpoint_sha256
JOIN v_checkpoint_origin o ON o.checkpoint_sha256 = dr.checkpoint_sha256
JOIN runs pr ON pr.id = o.pretrain_run_id
LEFT JOIN datasets d ON d.content_hash = dr.dataset_hash;

-- ------------------------------------------------------------------ v_leaderboard
-- Mean, sample std (n − 1) and best over seeds, per (dataset, task, direction, split, protocol, metric,
-- method/ablation, setting). One value per (seed, eval seed): the most recent evaluation, so a re-run
-- evaluation (new checkpoint of the same seed, new eval code) replaces the old one instead of counting twice.
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

-- ------------------------------------------------------------------ v_ablation
-- Every leaderboard row beside the pinned baseline's row of the same dataset, task, direction, split,
-- protocol, metric and setting (same hyper-parameters but the switches), and the difference of the means.
CREATE FUNCTION unicode_ablation_vs(pin_method text, pin_ablation text DEFAULT '', pin_dataset_hash text DEFAULT NULL, pin_task text DEFAULT NULL)
RETURNS TABLE (
    dataset_name text, dataset_hash text, task text, direction text, split text, protocol text, metric text,
    method text, ablation text, variant text, method_order integer,
    modalities text, codebook_size integer, code_dim integer, pretrain_epochs integer, setting_key text,
    n_seeds bigint, mean double precision, std double precision, mean_pm_std text,
    baseline_variant text, baseline_n_seeds bigint, baseline_mean double precision, baseline_std double precision,
    delta double precision, is_baseline boolean)
LANGUAGE sql STABLE AS $$
    SELECT
        l.dataset_name, l.dataset_hash, l.task, l.direction, l.split, l.protocol, l.metric,
        l.method, l.ablation, l.variant, l.method_order,
        l.modalities, l.codebook_size, l.code_dim, l.pretrain_epochs, l.setting_key,
        l.n_seeds, l.mean, l.std,
        round(l.mean::numeric, 2)::text || COALESCE(' ± ' || round(l.std::numeric, 2)::text, ''),
        unicode_variant(pin_method, COALESCE(pin_ablation, '')), b.n_seeds, b.mean, b.std,
        l.mean - b.mean,
        (l.method = pin_method AND l.ablation = COALESCE(pin_ablation, ''))
    FROM v_leaderboard l
    LEFT JOIN v_leaderboard b
           ON b.method = pin_method AND b.ablation = COALESCE(pin_ablation, '')
          AND b.dataset_hash = l.dataset_hash AND b.task = l.task AND b.direction = l.direction
          AND b.split = l.split AND b.protocol = l.protocol AND b.metric = l.metric
          AND b.setting_key = l.setting_key
    WHERE (pin_dataset_hash IS NULL OR l.dataset_hash = pin_dataset_hash)
      AND (pin_task IS NULL OR l.task = pin_task)
$$;

CREATE VIEW v_ablation AS
SELECT p.name AS baseline_name, a.*
FROM pinned_baselines p
CROSS JOIN LATERAL unicode_ablation_vs(p.method, p.ablation, p.dataset_hash, p.task) a
ORDER BY p.name, a.dataset_name, a.task, a.metric, a.protocol, a.split, a.setting_key, a.method_order, a.ablation, a.direction;

-- ------------------------------------------------------------------ v_checkpoints
-- Checkpoints with their run, the method of their pre-training, aliases and lineage counts.
CREATE VIEW v_checkpoints AS
SELECT
    c.sha256,
    c.parent_sha256,
    c.run_id,
    r.kind                                       AS run_kind,
    r.status                                     AS run_status,
    unicode_method(pr.config_json)               AS method,
    unicode_ablation(pr.config_json)             AS ablation,
    unicode_variant(unicode_method(pr.config_json), unicode_ablation(pr.config_json)) AS variant,
    unicode_modalities(pr.config_json)           AS modalities,
    (pr.config_json ->> 'codebookSize')::integer AS codebook_size,
    c.seed,
    c.step,
    c.epoch,
    COALESCE(d.name, 'sha256:' || left(c.dataset_hash, 12)) AS dataset_name,
    c.dataset_hash,
    c.config_hash,
    c.code_version,
    r.code_dirty,
    c.uri,
    c.size_bytes,
    c.created_at,
    COALESCE((SELECT string_agg(a.name, ',' ORDER BY a.name) FROM checkpoint_aliases a WHERE a.checkpoint_sha256 = c.sha256), '') AS aliases,
    (SELECT count(*) FROM checkpoints ch WHERE ch.parent_sha256 = c.sha256)         AS n_children,
    (SELECT count(*) FROM downstream_results dr WHERE dr.checkpoint_sha256 = c.sha256) AS n_results,
    o.depth                                      AS depth_below_pretrain
FROM checkpoints c
JOIN runs r ON r.id = c.run_id
JOIN v_checkpoint_origin o ON o.checkpoint_sha256 = c.sha256
JOIN runs pr ON pr.id = o.pretrain_run_id
LEFT JOIN datasets d ON d.content_hash = c.dataset_hash;

-- ------------------------------------------------------------------ read-only analyst role
-- unicode_analyst is a NOLOGIN group role: log in as a member of it (docs/sql/README.md). Roles belong to
-- the whole server, so it is created once (when the migrating role may create roles) and granted in
-- every database that is migrated. Without the right to create roles the migration warns and goes on; an
-- administrator then creates the role, and the owner runs CALL unicode_grant_analyst().

-- SELECT on every table and view of the public schema, now and (default privileges) for the tables that
-- later migrations create as the same role. Idempotent.
CREATE PROCEDURE unicode_grant_analyst()
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'unicode_analyst') THEN
        RAISE WARNING 'role unicode_analyst does not exist and % may not create roles, so the analyst views have no read-only role yet. A superuser runs: CREATE ROLE unicode_analyst NOLOGIN; then % runs: CALL unicode_grant_analyst();', current_user, current_user;
        RETURN;
    END IF;
    BEGIN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO unicode_analyst', current_database());
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE WARNING 'could not grant CONNECT on database % to unicode_analyst (% does not own it); PUBLIC has CONNECT unless it was revoked', current_database(), current_user;
    END;
    GRANT USAGE ON SCHEMA public TO unicode_analyst;
    GRANT SELECT ON ALL TABLES IN SCHEMA public TO unicode_analyst;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO unicode_analyst;
END
$$;
REVOKE EXECUTE ON PROCEDURE unicode_grant_analyst() FROM PUBLIC;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'unicode_analyst')
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
        BEGIN
            CREATE ROLE unicode_analyst NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;   -- another database's migration created it at the same moment
        END;
    END IF;
END
$$;
CALL unicode_grant_analyst();
