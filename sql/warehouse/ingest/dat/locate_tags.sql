-- The first bad line of $path (tags.dat: no header), re-read in file order.
with
numbered as (
    select
        row_number() over () as line,
        *
    from read_dat_tags($path, $encoding)
)
select
    line,
    tags_row_problem(user_id, movie_id) as problem
from numbered
where tags_row_problem(user_id, movie_id) is not null
order by line
limit 1;
