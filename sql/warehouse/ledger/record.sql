-- Record one applied migration (inside the transaction that applied it).
insert into schema_migrations (version, name, checksum, applied_at)
values ($version, $name, $checksum, now()::timestamp);
