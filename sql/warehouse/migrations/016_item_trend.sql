-- The item's trend beside its recency counts: the log of its positives in the 90 days before
-- the history's newest rating against the 90 days before those, each count plus one
-- (0: steady, > 0: rising, < 0: fading). The rest of item_features is as 012 made it.

create or replace macro item_features(strategy_name, upto) as table
with
history as (select * from feature_history(strategy_name, upto)),
now as (select max(ts) as now_ts from history)
select
    history.movie_id,
    count(*) filter (where positive) as positive_count,
    count(*) filter (where positive and ts >= now_ts - 30 * 86400) as recent_30d,
    count(*) filter (where positive and ts >= now_ts - 90 * 86400) as recent_90d,
    count(*) filter (where positive and ts >= now_ts - 365 * 86400) as recent_365d,
    round(ln(
        (1 + count(*) filter (where positive and ts >= now_ts - 90 * 86400))
        / (1 + count(*) filter (where positive and ts < now_ts - 90 * 86400 and ts >= now_ts - 180 * 86400))
    ), 6) as trend_90d,
    count(*) as rating_count,
    round(avg(rating), 6) as mean_rating,
    any_value(catalog.year) as release_year,
    year(to_timestamp(any_value(now_ts))) - any_value(catalog.year) as age_years,
    len(any_value(catalog.genres)) as genre_count
from history
cross join now
join catalog using (movie_id)
group by history.movie_id;
