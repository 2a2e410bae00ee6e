-- Rows of raw_links that break a rule (0 on a good file).
select count(*) as bad_rows
from raw_links
where links_row_problem(movie_id) is not null;
