-- The first line of $path (ratings.csv) rating a movie that movies.csv does not list.
with
numbered as (
    select
        row_number() over () + 1 as line,
        *
    from read_ratings_csv($path)
)
select
    numbered.line,
    'movieId ' || numbered.movie_id || ' is not in movies.csv' as problem
from numbered
anti join raw_movies using (movie_id)
order by numbered.line
limit 1;
