-- Hear of every stored rating (the trigger of migrations/001_feedback.sql notifies this channel).
listen recsys_feedback;
