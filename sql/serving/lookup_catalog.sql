-- Catalog rows for a list of movies ($movie_ids), in no particular order.
select movie_id, title, year, genres, positive_count
from catalog
where list_contains($movie_ids, movie_id);
