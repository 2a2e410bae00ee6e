-- The first bad line of $path (line 1 is the header), re-read in file order.
with
numbered as (
    select
        row_number() over () + 1 as line,
        *
    from read_tags_csv($path)
)
select
    line,
    tags_row_problem(user_id, movie_id) as problem
from numbered
where tags_row_problem(user_id, movie_id) is not null
order by line
limit 1;
