"""The report prints configurations a person can read."""

import json

from recommender.evaluation.runlog import readable_config


def test_numbers_to_four_significant_digits_and_no_sections_shown_elsewhere():
    logged = {
        "factors": 219,
        "regularization": 31.125577796214692,
        "alpha": 4.92611609319049e-05,
        "sources": ["als", "ease"],
        "importance": {"als_score": 0.02366924313433287},
        "val_cv_sources": {"als": 0.108851234},
        "test_users_sampled": 3000,
    }
    printed = json.loads(readable_config(json.dumps(logged)))
    assert printed == {
        "factors": 219,
        "regularization": 31.13,
        "alpha": 4.926e-05,
        "sources": ["als", "ease"],
        "val_cv_sources": {"als": 0.1089},
    }
