-- A simulation finished: its steps are complete (written in the same transaction).
insert into simulation_runs (simulation_id, steps, models)
values ($simulation_id, $steps, $models);
