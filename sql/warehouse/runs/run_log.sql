-- `recsys runs`: the newest $limit runs at cut-off $k, optionally of one $kind.
select * exclude (params)
from run_table($k)
where $kind is null or kind = $kind
limit $limit;
