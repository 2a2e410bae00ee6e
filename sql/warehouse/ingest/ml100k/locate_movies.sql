-- The first bad line of $path (u.item: no header), re-read in file order: a broken row,
-- or a movieId already listed on an earlier line.
with
numbered as (
    select
        row_number() over () as line,
        *
    from read_ml100k_movies($path)
),
problems as (
    select
        line,
        coalesce(
            movies_row_problem_v2(movie_id, title),
            case
                when line > min(line) over (partition by movie_id)
                then 'item id ' || movie_id || ' is listed twice (first on line '
                    || min(line) over (partition by movie_id) || ')'
            end
        ) as problem
    from numbered
)
select
    line,
    problem
from problems
where problem is not null
order by line
limit 1;
