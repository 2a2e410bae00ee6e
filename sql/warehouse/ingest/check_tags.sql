-- Rows of raw_tags that break a rule (0 on a good file).
select count(*) as bad_rows
from raw_tags
where tags_row_problem(user_id, movie_id) is not null;
