-- Every served user (everyone who rated anything) has $expected rows per model, ranked
-- 1..n, or as many as the catalog has left: the model's movies they have not rated.
with
per_user as (
    select model, user_id, count(*) as n, min(rank) as first_rank, max(rank) as last_rank
    from recommendations
    group by model, user_id
),
rated_model_movies as (
    select all_ratings.user_id, count(*) as n
    from all_ratings
    semi join model_items using (movie_id)
    group by all_ratings.user_id
),
users as (
    select
        served_users.user_id,
        least($expected, (select count(*) from model_items) - coalesce(rated_model_movies.n, 0)) as expected
    from served_users
    left join rated_model_movies using (user_id)
),
models as (
    select distinct model from recommendations
)
select models.model, users.user_id, users.expected, per_user.n, per_user.first_rank, per_user.last_rank
from users
cross join models
left join per_user using (model, user_id)
where coalesce(per_user.n, 0) <> users.expected
   or per_user.first_rank <> 1
   or per_user.last_rank <> users.expected
limit 10;
