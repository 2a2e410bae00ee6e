-- Title search: case-insensitive substring, most popular first. $text is a bound
-- parameter, never pasted into the SQL; contains() treats it literally (no wildcards).
select movie_id, title, year, genres, positive_count
from catalog
where contains(lower(title), lower($text))
order by positive_count desc, movie_id
limit $limit;
