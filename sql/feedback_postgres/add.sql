-- Store one rating under the next seq (the feedback_store row stays locked until commit, so
-- seqs commit in order; see migrations/001_feedback.sql).
with next_seq as (
    update feedback_store
    set last_seq = last_seq + 1
    returning last_seq
)
insert into feedback (seq, user_id, movie_id, rating)
select last_seq, %(user_id)s, %(movie_id)s, %(rating)s
from next_seq
returning seq;
