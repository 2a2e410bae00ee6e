-- Taken at the start of a migration run: the advisory lock, held until the transaction ends,
-- keeps servers starting together from applying a migration twice.
select pg_advisory_xact_lock(hashtext('recsys_feedback_migrations'));

create table if not exists feedback_migrations (
    name text primary key,
    applied_at timestamptz not null default now()
);
