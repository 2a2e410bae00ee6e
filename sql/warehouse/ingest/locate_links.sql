-- The first bad line of $path (line 1 is the header), re-read in file order.
with
numbered as (
    select
        row_number() over () + 1 as line,
        *
    from read_links_csv($path)
)
select
    line,
    links_row_problem(movie_id) as problem
from numbered
where links_row_problem(movie_id) is not null
order by line
limit 1;
