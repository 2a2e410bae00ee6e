-- One model's precomputed lists, for the server's in-memory index: rows in (user, rank)
-- order. NULLs become sentinels so the columns load as plain arrays: score NaN (the
-- popular top-up has no model score), reason 0 (no history movie). from_model: false where
-- the popular top-up filled the entry (a user without positives gets only those).
select
    user_id,
    movie_id,
    coalesce(score, 'nan'::float) as score,
    coalesce(reason_movie_id, 0) as reason_movie_id,
    source = 'model' as from_model
from recommendations
where model = $model
order by user_id, rank;
