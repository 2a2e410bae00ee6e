-- Rows of raw_ratings that break a rule (0 on a good file).
select count(*) as bad_rows
from raw_ratings
where ratings_row_problem_v2(user_id, movie_id, rating, ts) is not null;
