-- The first bad line of $path (movies.dat: no header), re-read in file order: a broken row,
-- or a movieId already listed on an earlier line.
with
numbered as (
    select
        row_number() over () as line,
        *
    from read_dat_movies($path, $encoding)
),
problems as (
    select
        line,
        coalesce(
            movies_row_problem_v2(movie_id, title),
            case
                when line > min(line) over (partition by movie_id)
                then 'movie id ' || movie_id || ' is listed twice (first on line '
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
