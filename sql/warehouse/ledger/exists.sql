-- Whether the ledger exists yet (a fresh file has none).
select count(*) > 0 as present
from information_schema.tables
where table_name = 'schema_migrations';
