-- Everything the production fit learns from and filters by, read live (never a stale split):
-- the latest rating of every (user, movie), both sources, cut at $threshold. Also the rating
-- log `recsys simulate` replays in time order.
select
    user_id,
    movie_id,
    ts,
    rating >= $threshold as positive
from latest_ratings;
