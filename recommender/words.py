"""Counted nouns in messages: "1 trial", "30 trials", "12,086 users"."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``n`` and the noun in the right number (``many``: an irregular plural)."""
    return f"{n:,} {noun if n == 1 else many or noun + 's'}"
