-- The server's own feedback file (feedback.duckdb): ratings posted to the API.
create table if not exists feedback (
    user_id integer,
    movie_id integer,
    rating float,
    created_at timestamp
);
