"""Offline evaluation: metrics, scoring a model on a split part, the run log, tuning, reports."""

from recommender.evaluation.evaluate import Evaluation, ItemSpace, evaluate, item_space

__all__ = ["Evaluation", "ItemSpace", "evaluate", "item_space"]
