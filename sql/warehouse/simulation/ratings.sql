-- The rating log the simulation replays: the latest rating of every (user, movie), both
-- sources, with its time (Unix seconds) and whether it is a positive at $threshold.
select
    user_id,
    movie_id,
    ts,
    rating >= $threshold as positive
from latest_ratings;
