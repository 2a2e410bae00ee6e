-- Users with held-out positives in each evaluated part (val, test) of $strategy's split.
select
    part,
    users
from split_summary
where strategy = $strategy and part in ('val', 'test')
order by part;
