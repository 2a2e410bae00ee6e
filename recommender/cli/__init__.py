"""The ``recsys`` command line: one subcommand per job, all sharing one Settings object.

``recsys --help`` lists the commands in the order a user meets them (``WORKFLOW``).

Each command group registers its subcommands (``set_defaults(handler=...)``); handlers
import the library when they run, so ``recsys --help`` stays quick. Imports point one way:
``recommender.cli`` -> the library, never back.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from recommender.cli import app, models, run, serving, settings, warehouse
from recommender.cli.common import (
    ALL_FLAGS,
    config_named,
    configure_output,
    fail,
    output_flags,
    setting_overrides,
    settings_flags,
)
from recommender.errors import RecsysError

GROUPS = (warehouse, models, serving, run, app, settings)
#: The order ``recsys --help`` lists the commands in: the main job and serving first, then
#: keeping the service running, looking at results, the data, and the single steps.
WORKFLOW = (
    "run", "serve", "retrain", "versions", "rollback", "report", "runs", "sql", "config",
    "ingest", "ingest-feedback", "download", "build-app", "precompute", "migrate", "split",
    "train", "tune", "evaluate", "simulate",
)  # fmt: skip
DESCRIPTION = (
    "A movie recommender on a DuckDB warehouse. Start with `recsys run` (the whole job on the bundled "
    "MovieLens data), then `recsys serve`; `recsys COMMAND --help` tells more."
)


def build_parser() -> argparse.ArgumentParser:
    from recommender import __version__

    parser = argparse.ArgumentParser(prog="recsys", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"recsys {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="a TOML settings file (below the environment and the flags) [RECSYS_CONFIG, else ./recsys.toml]",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str,
        help_text: str,
        *,
        strategy_flags: tuple[str, ...] = ("--split", "--strategy"),
        settings: bool | tuple[str, ...] = True,
    ) -> argparse.ArgumentParser:
        """A subcommand with --quiet/--verbose and the settings flags it uses (``settings``: all,
        none, or a tuple of common.ALL_FLAGS' names)."""
        p = sub.add_parser(name, help=help_text, description=help_text)
        output_flags(p)
        if settings is True:
            settings_flags(p, strategy_flags, ALL_FLAGS)
        elif settings:
            settings_flags(p, strategy_flags, settings)
        return p

    for group in GROUPS:
        group.register(add)
    # argparse lists subcommands in the order they were added: put them in workflow order
    listed = {action.dest: action for action in sub._choices_actions}
    sub._choices_actions[:] = [listed.pop(name) for name in WORKFLOW if name in listed] + list(listed.values())
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_output(quiet=args.quiet, verbose=args.verbose)
    try:
        from recommender.config import Settings

        with config_named(args.config):
            settings = Settings.from_sources(setting_overrides(args))
            return args.handler(args, settings) or 0
    except RecsysError as exc:
        fail(f"recsys {args.command}: {exc.label}: {exc}")
        return 2
    except KeyboardInterrupt:
        fail("recsys: interrupted")
        return 130
