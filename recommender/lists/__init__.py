"""The lists a user gets from a fitted model: the top-N topped up with popular movies
(``served``), the two-stage ranker's lists (``ranked``) and each entry's reasons (``reasons``).
Evaluation and the version builder both make their lists here, so the evaluated lists are the
served ones."""
