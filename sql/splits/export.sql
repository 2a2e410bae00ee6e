-- One part of one split, for the model code ($strategy, $part). Only kept rows.
select
    user_id,
    movie_id,
    ts
from split_interactions
where strategy = $strategy
  and part = $part
  and kept;
