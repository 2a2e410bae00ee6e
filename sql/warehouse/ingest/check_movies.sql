-- Rows of raw_movies that break a rule, or repeat a movieId (0 on a good file).
select
    count(*) filter (where movies_row_problem_v2(movie_id, title) is not null)
    + (count(*) - count(distinct movie_id)) as bad_rows
from raw_movies;
