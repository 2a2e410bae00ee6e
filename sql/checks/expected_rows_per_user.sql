-- Every served user (everyone who rated anything) has exactly $expected rows per model,
-- ranked 1..$expected.
with
per_user as (
    select model, user_id, count(*) as n, min(rank) as first_rank, max(rank) as last_rank
    from recommendations
    group by model, user_id
),
users as (
    select user_id from served_users
),
models as (
    select distinct model from recommendations
)
select models.model, users.user_id, per_user.n, per_user.first_rank, per_user.last_rank
from users
cross join models
left join per_user using (model, user_id)
where per_user.n is distinct from $expected
   or per_user.first_rank <> 1
   or per_user.last_rank <> $expected
limit 10;
