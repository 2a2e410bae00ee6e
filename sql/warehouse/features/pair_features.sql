-- Features of every row of the temporary table ranker_pairs (row_id, user_id, movie_id) from the
-- feature tables materialize.sql made (as of one history), in row_id order: the movie's, the user's and
-- the pair's (genre affinity: the user's share of liked movies in the movie's genres; year
-- distance: to the median year of the user's liked movies; whether the movie has the user's
-- favourite genre). Missing values are null (LightGBM takes them as missing).
with
pairs as (select * from ranker_pairs),
items as (select * from feature_items),
users as (select * from feature_users),
shares as (select * from feature_shares),
favourite as (select * from feature_favourites),
years as (select * from feature_years),
affinity as (
    select pairs.row_id, sum(shares.share) as genre_affinity
    from pairs
    join catalog using (movie_id)
    join shares on shares.user_id = pairs.user_id and list_contains(catalog.genres, shares.genre)
    group by pairs.row_id
)
select
    pairs.row_id,
    items.positive_count,
    items.recent_30d,
    items.recent_90d,
    items.recent_365d,
    items.trend_90d,
    items.rating_count,
    items.mean_rating,
    items.release_year,
    items.age_years,
    items.genre_count,
    users.user_rating_count,
    users.user_positive_count,
    users.user_mean_rating,
    users.days_since_last,
    users.active_days,
    round(coalesce(affinity.genre_affinity, 0.0), 6) as genre_affinity,
    abs(catalog.year - years.typical_year) as year_distance,
    coalesce(list_contains(catalog.genres, favourite.favourite_genre), false)::integer as in_favourite_genre
from pairs
left join items using (movie_id)
left join users using (user_id)
left join catalog using (movie_id)
left join favourite using (user_id)
left join years using (user_id)
left join affinity using (row_id)
order by pairs.row_id;
