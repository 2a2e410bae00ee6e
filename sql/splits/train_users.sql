-- Sorted train users of $strategy: row index space of every matrix.
select distinct user_id
from split_interactions
where strategy = $strategy
  and part = 'train'
order by user_id;
