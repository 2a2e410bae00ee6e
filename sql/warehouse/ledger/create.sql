-- The migration ledger: the one piece of schema that must exist before any migration runs.
create table if not exists schema_migrations (
    version integer,
    name varchar,
    checksum varchar,
    applied_at timestamp
);
