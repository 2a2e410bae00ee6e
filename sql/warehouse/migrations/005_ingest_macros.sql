-- Readers for the MovieLens CSV layout (ml-25m / ml-latest-small) and row validators.
-- The dialect is fixed rather than sniffed so a malformed file fails with its line
-- number instead of a guessed dialect. `path` is always a bound parameter.

create or replace macro read_ratings_csv(path) as table
select
    "userId" as user_id,
    "movieId" as movie_id,
    rating,
    "timestamp" as ts
from read_csv(
    path,
    header = true, auto_detect = false, strict_mode = true,
    delim = ',', quote = '"', escape = '"',
    columns = {'userId': 'INTEGER', 'movieId': 'INTEGER', 'rating': 'FLOAT', 'timestamp': 'BIGINT'}
);

create or replace macro read_movies_csv(path) as table
select
    "movieId" as movie_id,
    title,
    genres
from read_csv(
    path,
    header = true, auto_detect = false, strict_mode = true,
    delim = ',', quote = '"', escape = '"',
    columns = {'movieId': 'INTEGER', 'title': 'VARCHAR', 'genres': 'VARCHAR'}
);

create or replace macro read_tags_csv(path) as table
select
    "userId" as user_id,
    "movieId" as movie_id,
    tag,
    "timestamp" as ts
from read_csv(
    path,
    header = true, auto_detect = false, strict_mode = true,
    delim = ',', quote = '"', escape = '"',
    columns = {'userId': 'INTEGER', 'movieId': 'INTEGER', 'tag': 'VARCHAR', 'timestamp': 'BIGINT'}
);

create or replace macro read_links_csv(path) as table
select
    "movieId" as movie_id,
    "imdbId" as imdb_id,
    "tmdbId" as tmdb_id
from read_csv(
    path,
    header = true, auto_detect = false, strict_mode = true,
    delim = ',', quote = '"', escape = '"',
    columns = {'movieId': 'INTEGER', 'imdbId': 'VARCHAR', 'tmdbId': 'INTEGER'}
);

-- Each returns null for a valid row, else what is wrong with it.
create or replace macro ratings_row_problem(user_id, movie_id, rating, ts) as
    case
        when user_id is null then 'userId is empty'
        when movie_id is null then 'movieId is empty'
        when rating is null then 'rating is empty'
        when ts is null then 'timestamp is empty'
        when rating < 0.5 or rating > 5.0 then 'rating ' || rating || ' is outside 0.5..5.0'
    end;

create or replace macro movies_row_problem(movie_id, title) as
    case
        when movie_id is null then 'movieId is empty'
        when title is null or trim(title) = '' then 'title is empty'
    end;

create or replace macro tags_row_problem(user_id, movie_id) as
    case
        when user_id is null then 'userId is empty'
        when movie_id is null then 'movieId is empty'
    end;

create or replace macro links_row_problem(movie_id) as
    case
        when movie_id is null then 'movieId is empty'
    end;
