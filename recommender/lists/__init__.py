"""The lists a user gets from a fitted model: the top-N topped up with popular movies
(``served``), each entry's reason (``reasons``), and the pipeline that makes both for a batch
of users (``explained``). Evaluation, the version builder and request-time lists all make
their lists here, so the evaluated lists are the served ones."""
