-- Tables of one serving version file (recs.duckdb). No indexes: zonemaps make
-- `where user_id = ?` fast, and the file is never modified after publication.
create table recommendations (
    model varchar,            -- popular | itemknn | als | diverse | hybrid | ease | ranker
    user_id integer,
    rank integer,             -- 1 = best
    movie_id integer,
    score float,              -- the model's score; null where the popular top-up filled the list
    reason_movie_id integer,  -- the history movie that contributed most (null: none / popular)
    source varchar,           -- model | popular_fill
    ranked_by varchar         -- the ranker only: the feature that raised the movie most (null: none)
);

create table catalog (
    movie_id integer,
    title varchar,
    year integer,
    genres varchar[],
    positive_count bigint     -- positives in the history the models saw (popularity)
);

create table popular_movies (
    rank integer,
    movie_id integer,
    score float
);

create table similar_movies (
    movie_id integer,
    rank integer,
    similar_movie_id integer,
    score float
);

create table model_items (
    item_idx integer,         -- column of the ALS item factors
    movie_id integer
);

create table version_info (
    version integer,
    created_at timestamp,
    split_strategy varchar,
    serve_n integer,
    runs json,                -- {model: run_id} of the evaluation runs whose test numbers it publishes
    metrics json,
    diverse_params json,
    production_runs json,     -- {model: run_id} of the production fits it serves
    default_model varchar,    -- the model a request that names none gets (the winner on val)
    default_reason varchar,   -- why, in one sentence
    visitor_model varchar     -- who answers a visitor's request for the ranker: ranker or the best single model
);
