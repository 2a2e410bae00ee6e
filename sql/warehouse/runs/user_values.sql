-- Per-user values of one metric at one cut-off for a set of runs ($run_ids), aligned by user.
select
    run_id,
    user_id,
    value
from run_user_metrics
where list_contains($run_ids, run_id)
  and metric = $metric
  and k = $k
order by run_id, user_id;
