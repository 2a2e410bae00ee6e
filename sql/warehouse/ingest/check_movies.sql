-- Rows of raw_movies that break a rule (0 on a good file).
select count(*) as bad_rows
from raw_movies
where movies_row_problem(movie_id, title) is not null;
