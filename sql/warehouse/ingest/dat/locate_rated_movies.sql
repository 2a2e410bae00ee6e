-- The first line of $path (ratings.dat) rating a movie that movies.dat does not list.
with
numbered as (
    select
        row_number() over () as line,
        *
    from read_dat_ratings($path)
)
select
    numbered.line,
    'movie id ' || numbered.movie_id || ' is not in movies.dat' as problem
from numbered
anti join raw_movies using (movie_id)
order by numbered.line
limit 1;
