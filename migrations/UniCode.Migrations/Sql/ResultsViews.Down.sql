-- Migration 20261125160000_ResultsViews, Down: removes what Up created, except the role unicode_analyst,
-- which belongs to the whole server (other databases may grant to it); only its grants here are revoked.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'unicode_analyst') THEN
        ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM unicode_analyst;
        REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM unicode_analyst;
        REVOKE USAGE ON SCHEMA public FROM unicode_analyst;
        BEGIN
            EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM unicode_analyst', current_database());
        EXCEPTION WHEN insufficient_privilege THEN
            NULL;
        END;
    END IF;
END
$$;
DROP PROCEDURE unicode_grant_analyst();
DROP VIEW v_checkpoints;
DROP VIEW v_ablation;
DROP FUNCTION unicode_ablation_vs(text, text, text, text);
DROP VIEW v_leaderboard;
DROP VIEW v_results;
DROP VIEW v_checkpoint_origin;
DROP FUNCTION unicode_setting_key(jsonb);
DROP FUNCTION unicode_modality_letter(text);
DROP FUNCTION unicode_modalities(jsonb);
DROP FUNCTION unicode_variant(text, text);
DROP FUNCTION unicode_ablation(jsonb);
DROP FUNCTION unicode_method_order(text);
DROP FUNCTION unicode_method(jsonb);
DROP FUNCTION unicode_has_switches(jsonb);
DROP FUNCTION unicode_switch(jsonb, text);
DROP TABLE pinned_baselines;
