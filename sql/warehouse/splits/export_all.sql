-- Everything the production fit learns from and filters by, as of the last split build:
-- every positive (both sources, latest rating per pair) and every sub-threshold rating.
select
    user_id,
    movie_id,
    ts,
    true as positive
from split_positives
union all
select
    user_id,
    movie_id,
    ts,
    false as positive
from split_negatives;
