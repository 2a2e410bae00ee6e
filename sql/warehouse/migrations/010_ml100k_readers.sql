-- Readers for the MovieLens 100K layout: u.data (tab-separated user id, item id, rating,
-- timestamp; no header) and u.item (pipe-separated, Latin-1, no quoting: id, title, release
-- date, video release date, IMDb URL, then 19 genre flags in u.genre's order). They return
-- the columns of the ml-25m readers, so the same raw tables, checks and views serve both.
-- Genres become ml-25m's '|'-joined names: "Children's" is "Children", and a movie flagged
-- only "unknown" gets ml-25m's '(no genres listed)'.

create or replace macro read_ml100k_ratings(path) as table
select
    user_id,
    item_id as movie_id,
    rating,
    ts
from read_csv(
    path,
    header = false, auto_detect = false, strict_mode = true,
    delim = '\t', quote = '', escape = '',
    columns = {'user_id': 'INTEGER', 'item_id': 'INTEGER', 'rating': 'FLOAT', 'ts': 'BIGINT'}
);

create or replace macro read_ml100k_movies(path) as table
select
    movie_id,
    title,
    coalesce(
        nullif(
            concat_ws(
                '|',
                case when g_action = 1 then 'Action' end,
                case when g_adventure = 1 then 'Adventure' end,
                case when g_animation = 1 then 'Animation' end,
                case when g_children = 1 then 'Children' end,
                case when g_comedy = 1 then 'Comedy' end,
                case when g_crime = 1 then 'Crime' end,
                case when g_documentary = 1 then 'Documentary' end,
                case when g_drama = 1 then 'Drama' end,
                case when g_fantasy = 1 then 'Fantasy' end,
                case when g_film_noir = 1 then 'Film-Noir' end,
                case when g_horror = 1 then 'Horror' end,
                case when g_musical = 1 then 'Musical' end,
                case when g_mystery = 1 then 'Mystery' end,
                case when g_romance = 1 then 'Romance' end,
                case when g_sci_fi = 1 then 'Sci-Fi' end,
                case when g_thriller = 1 then 'Thriller' end,
                case when g_war = 1 then 'War' end,
                case when g_western = 1 then 'Western' end
            ),
            ''
        ),
        '(no genres listed)'
    ) as genres
from read_csv(
    path,
    header = false, auto_detect = false, strict_mode = true,
    delim = '|', quote = '', escape = '', encoding = 'latin-1',
    columns = {
        'movie_id': 'INTEGER', 'title': 'VARCHAR', 'release_date': 'VARCHAR', 'video_release_date': 'VARCHAR',
        'imdb_url': 'VARCHAR', 'g_unknown': 'TINYINT', 'g_action': 'TINYINT', 'g_adventure': 'TINYINT',
        'g_animation': 'TINYINT', 'g_children': 'TINYINT', 'g_comedy': 'TINYINT', 'g_crime': 'TINYINT',
        'g_documentary': 'TINYINT', 'g_drama': 'TINYINT', 'g_fantasy': 'TINYINT', 'g_film_noir': 'TINYINT',
        'g_horror': 'TINYINT', 'g_musical': 'TINYINT', 'g_mystery': 'TINYINT', 'g_romance': 'TINYINT',
        'g_sci_fi': 'TINYINT', 'g_thriller': 'TINYINT', 'g_war': 'TINYINT', 'g_western': 'TINYINT'
    }
);
