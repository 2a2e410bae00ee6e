"""The ``recsys`` command line: one subcommand per job, all sharing one Settings object.

Each command group registers its subcommands (``set_defaults(handler=...)``); handlers
import the library when they run, so ``recsys --help`` stays quick. Imports point one way:
``recommender.cli`` -> the library, never back.
"""

from __future__ import annotations

import argparse

from recommender.cli import models, run, serving, warehouse
from recommender.cli.common import SETTING_NAMES, say, settings_flags
from recommender.errors import RecsysError

GROUPS = (warehouse, models, serving, run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recsys", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, help_text: str, *, strategy_flags: tuple[str, ...] = ("--split", "--strategy"), settings: bool = True
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if settings:
            settings_flags(p, strategy_flags)
        return p

    for group in GROUPS:
        group.register(add)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from recommender.config import Settings

        overrides = {name: getattr(args, name, None) for name in SETTING_NAMES}
        if overrides.get("split_strategy"):
            overrides["split_strategy"] = overrides["split_strategy"].replace("-", "_")
        settings = Settings.from_sources(overrides)
        return args.handler(args, settings) or 0
    except RecsysError as exc:
        say(f"recsys {args.command}: {exc.label}: {exc}")
        return 2
    except KeyboardInterrupt:
        say("recsys: interrupted")
        return 130
