-- The migrations this database has.
select name
from feedback_migrations
order by name;
