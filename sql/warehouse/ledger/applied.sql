-- The migrations applied so far, with the checksum each had then.
select
    version,
    name,
    checksum
from schema_migrations
order by version;
