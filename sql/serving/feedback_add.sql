-- Store one rating posted to the API.
insert into feedback values ($user_id, $movie_id, $rating, now()::timestamp);
