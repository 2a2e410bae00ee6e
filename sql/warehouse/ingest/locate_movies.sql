-- The first bad line of $path (line 1 is the header), re-read in file order: a broken row,
-- or a movieId already listed on an earlier line.
with
numbered as (
    select
        row_number() over () + 1 as line,
        *
    from read_movies_csv($path)
),
problems as (
    select
        line,
        coalesce(
            movies_row_problem_v2(movie_id, title),
            case
                when line > min(line) over (partition by movie_id)
                then 'movieId ' || movie_id || ' is listed twice (first on line '
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
