-- Rebuild the protocol splits the settings ask for ($random: 'random'; $partitions > 0: the
-- crossfold partitions), after sql/warehouse/splits/materialize.sql in the same transaction:
-- it reads split_positives and split_negatives, and adds each strategy's cut-off row.
delete from split_protocol_assignments;
delete from split_protocol_negatives;
delete from split_cutoffs where strategy = 'random' or strategy like 'crossfold%';

create or replace temp table protocol_parts as
select * from split_random_assign($seed, $unit, $val_holdout, $test_holdout) where $random
union all
select * from split_crossfold_assign($seed, greatest($partitions, 1), $unit, $val_holdout, $test_holdout)
where $partitions > 0;

insert into split_protocol_assignments
with
user_in_train as (
    select strategy, user_id, bool_or(part = 'train') as in_train from protocol_parts group by all
),
movie_in_train as (
    select strategy, movie_id, bool_or(part = 'train') as in_train from protocol_parts group by all
)
select
    parts.strategy,
    parts.user_id,
    parts.movie_id,
    parts.ts,
    parts.part,
    parts.part = 'train' or (user_in_train.in_train and movie_in_train.in_train) as kept
from protocol_parts as parts
join user_in_train using (strategy, user_id)
join movie_in_train using (strategy, movie_id);

insert into split_protocol_negatives
select strategies.strategy, negatives.user_id, negatives.movie_id, negatives.ts, 'train'::split_part
from split_negatives as negatives
cross join (select distinct strategy from protocol_parts) as strategies;

insert into split_cutoffs
select strategy, null, null, $unit, $val_holdout, $test_holdout, now()::timestamp
from (select distinct strategy from protocol_parts);

drop table protocol_parts;
