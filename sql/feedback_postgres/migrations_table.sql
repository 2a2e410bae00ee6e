-- Whether the migrations' record exists yet (NULL before the first migration run).
select to_regclass('feedback_migrations');
