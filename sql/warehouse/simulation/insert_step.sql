-- One (step, model) row of a simulation.
insert into simulation_steps (
    simulation_id, step, cutoff, window_end, model, params, users, fallback_users, train_positives,
    ndcg, recall, hit_rate, hits, coverage, fit_s, score_s, settings
)
values (
    $simulation_id, $step, $cutoff, $window_end, $model, $params, $users, $fallback_users, $train_positives,
    $ndcg, $recall, $hit_rate, $hits, $coverage, $fit_s, $score_s, $settings
);
