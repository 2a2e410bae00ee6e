-- No list holds a movie its user rated, at any value, in the CSVs or through the API.
select r.model, r.user_id, r.movie_id
from recommendations as r
join all_ratings as rated using (user_id, movie_id)
limit 10;
