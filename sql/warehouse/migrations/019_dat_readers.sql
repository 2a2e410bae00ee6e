-- Readers for the MovieLens 1M and 10M layout: ratings.dat (user id::movie id::rating::timestamp),
-- movies.dat (movie id::title::genres, genres '|'-joined) and, in 10M, tags.dat (user id::movie
-- id::tag::timestamp); '::'-separated, no header, no quoting. ML-1M's files are Latin-1, ML-10M's
-- UTF-8: the text files' encoding is a parameter (ingest detects it). They return the columns of
-- the ml-25m readers, so the same raw tables, checks and views serve every edition. ML-1M's
-- "Children's" is ml-25m's "Children", and an empty genre list ml-25m's '(no genres listed)'.

create or replace macro read_dat_ratings(path) as table
select
    user_id,
    movie_id,
    rating,
    ts
from read_csv(
    path,
    header = false, auto_detect = false, strict_mode = true,
    delim = '::', quote = '', escape = '',
    columns = {'user_id': 'INTEGER', 'movie_id': 'INTEGER', 'rating': 'FLOAT', 'ts': 'BIGINT'}
);

create or replace macro read_dat_movies(path, text_encoding) as table
select
    movie_id,
    title,
    coalesce(nullif(replace(genres, 'Children''s', 'Children'), ''), '(no genres listed)') as genres
from read_csv(
    path,
    header = false, auto_detect = false, strict_mode = true,
    delim = '::', quote = '', escape = '', encoding = text_encoding,
    columns = {'movie_id': 'INTEGER', 'title': 'VARCHAR', 'genres': 'VARCHAR'}
);

create or replace macro read_dat_tags(path, text_encoding) as table
select
    user_id,
    movie_id,
    tag,
    ts
from read_csv(
    path,
    header = false, auto_detect = false, strict_mode = true,
    delim = '::', quote = '', escape = '', encoding = text_encoding,
    columns = {'user_id': 'INTEGER', 'movie_id': 'INTEGER', 'tag': 'VARCHAR', 'ts': 'BIGINT'}
);
