-- The first line of $path (u.data) rating a movie that u.item does not list.
with
numbered as (
    select
        row_number() over () as line,
        *
    from read_ml100k_ratings($path)
)
select
    numbered.line,
    'item id ' || numbered.movie_id || ' is not in u.item' as problem
from numbered
anti join raw_movies using (movie_id)
order by numbered.line
limit 1;
