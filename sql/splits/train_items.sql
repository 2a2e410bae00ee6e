-- Sorted train movies of $strategy: column index space of every matrix.
select distinct movie_id
from split_interactions
where strategy = $strategy
  and part = 'train'
order by movie_id;
