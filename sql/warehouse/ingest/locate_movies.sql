-- The first bad line of $path (line 1 is the header), re-read in file order.
with
numbered as (
    select
        row_number() over () + 1 as line,
        *
    from read_movies_csv($path)
)
select
    line,
    movies_row_problem(movie_id, title) as problem
from numbered
where movies_row_problem(movie_id, title) is not null
order by line
limit 1;
