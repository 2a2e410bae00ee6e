-- Test metrics at K = 10 of the evaluation runs a version publishes ($run_ids).
select
    r.model,
    m.metric,
    m.value
from run_metrics as m
join runs as r using (run_id)
where list_contains($run_ids, run_id)
  and m.k = 10;
