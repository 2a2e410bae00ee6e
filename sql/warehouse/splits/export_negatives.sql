-- Sub-threshold ratings of one split ($strategy) with the part whose period they fall in,
-- as a small code (0 train, 1 val, 2 test); Python maps the ids to the split's indices.
select
    user_id,
    movie_id,
    (case
        part
        when 'train' then 0 when 'val' then 1 else 2
    end)::utinyint as part_code
from split_negative_parts
where strategy = $strategy;
