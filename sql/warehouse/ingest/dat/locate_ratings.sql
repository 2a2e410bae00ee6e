-- The first bad line of $path (ratings.dat: no header, line 1 is the first rating), re-read in file order.
with
numbered as (
    select
        row_number() over () as line,
        *
    from read_dat_ratings($path)
)
select
    line,
    ratings_row_problem_v2(user_id, movie_id, rating, ts) as problem
from numbered
where ratings_row_problem_v2(user_id, movie_id, rating, ts) is not null
order by line
limit 1;
