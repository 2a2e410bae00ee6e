-- Catalogue coverage at $k of a set of runs ($run_ids).
select
    run_id,
    value
from run_metrics
where list_contains($run_ids, run_id)
  and metric = 'coverage'
  and k = $k;
