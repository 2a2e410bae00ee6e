-- Kept rows of one split ($strategy) in the models' index space, with the part as a
-- small code (0 train, 1 val, 2 test) so Python can cut them apart cheaply.
-- user_idx / item_idx number that split's train users / movies in id order from 0.
with
kept_rows as (
    select user_id, movie_id, ts, part
    from split_interactions
    where strategy = $strategy
      and kept
),
users as (
    select
        user_id,
        (row_number() over (order by user_id) - 1)::integer as user_idx
    from (select distinct user_id from kept_rows where part = 'train')
),
items as (
    select
        movie_id,
        (row_number() over (order by movie_id) - 1)::integer as item_idx
    from (select distinct movie_id from kept_rows where part = 'train')
)
select
    (case kept_rows.part when 'train' then 0 when 'val' then 1 else 2 end)::utinyint as part_code,
    users.user_idx,
    items.item_idx,
    kept_rows.user_id,
    kept_rows.movie_id,
    kept_rows.ts
from kept_rows
join users using (user_id)
join items using (movie_id);
