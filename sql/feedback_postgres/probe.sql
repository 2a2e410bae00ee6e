-- The listener's probe: a dead connection raises here instead of waiting for ever.
select 1;
