-- Ratings of movies movies.csv does not list (0 on a good folder).
select count(*) as bad_rows
from raw_ratings
anti join raw_movies using (movie_id);
