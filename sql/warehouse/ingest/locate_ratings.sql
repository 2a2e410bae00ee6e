-- The first bad line of $path (line 1 is the header), re-read in file order.
with
numbered as (
    select
        row_number() over () + 1 as line,
        *
    from read_ratings_csv($path)
)
select
    line,
    ratings_row_problem_v2(user_id, movie_id, rating, ts) as problem
from numbered
where ratings_row_problem_v2(user_id, movie_id, rating, ts) is not null
order by line
limit 1;
