"""The discovery setting is the most accurate one on val that meets both targets; when none
does, the nearest to them."""

from recommender.evaluation.tuning import choose_discovery


def test_the_best_ndcg_among_the_settings_meeting_both_targets():
    points = [
        ("plain", 0.110, 0.00, 10.0),
        ("mild", 0.105, 0.95, 4.5),  # overlap too high
        ("good", 0.095, 0.92, 3.9),
        ("strong", 0.080, 1.00, 1.0),
        ("popular", 0.100, 0.85, 3.0),  # not less popular for enough users
    ]
    assert choose_discovery(points, 0.9, 4.0) == ("good", True)


def test_without_a_setting_meeting_both_the_nearest_is_taken_and_said():
    points = [("a", 0.11, 0.95, 6.0), ("b", 0.10, 0.95, 4.5), ("c", 0.12, 0.50, 2.0)]
    assert choose_discovery(points, 0.9, 4.0) == ("b", False)
