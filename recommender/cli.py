"""The ``recsys`` command line: one subcommand per job, all sharing one Settings object."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

import duckdb

from recommender.config import ConfigError, Settings
from recommender.errors import RecsysError, UserFacingError  # noqa: F401 - UserFacingError: re-exported

COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {}


def command(name: str):
    def register(fn):
        COMMANDS[name] = fn
        return fn

    return register


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- argument parsing -----------------------------------------------------------------

def _settings_flags(parser: argparse.ArgumentParser, strategy_flags: tuple[str, ...] = ("--split", "--strategy")) -> None:
    g = parser.add_argument_group("settings (each also read from RECSYS_<NAME>)")
    g.add_argument("--warehouse", type=Path, help="DuckDB warehouse file [warehouse/movielens.duckdb]")
    g.add_argument("--data-dir", dest="data_dir", type=Path, help="download folder [data/raw]")
    g.add_argument("--rating-threshold", dest="rating_threshold", type=float, help="positive if rating >= this [4.0]")
    g.add_argument(*strategy_flags, dest="split_strategy", choices=["global", "per-user", "per_user"], help="split strategy [global]")
    g.add_argument("--val-quantile", dest="val_quantile", type=float, help="global split: val starts here [0.8]")
    g.add_argument("--test-quantile", dest="test_quantile", type=float, help="global split: test starts here [0.9]")
    g.add_argument("--val-start", dest="val_start", help="global split: explicit val start date (ISO)")
    g.add_argument("--test-start", dest="test_start", help="global split: explicit test start date (ISO)")
    g.add_argument("--holdout-unit", dest="holdout_unit", choices=["count", "fraction"], help="per-user split unit [fraction]")
    g.add_argument("--holdout-val", dest="holdout_val", type=float, help="per-user split: val size [0.1]")
    g.add_argument("--holdout-test", dest="holdout_test", type=float, help="per-user split: test size [0.1]")
    g.add_argument("--eval-exclude", dest="eval_exclude", choices=["rated", "positives"],
                   help="evaluation leaves out every movie rated before the cut-off, or only the history positives [rated]")
    g.add_argument("--seed", type=int, help="seed for every random choice [42]")
    g.add_argument("--threads", type=int, help="DuckDB threads [all cores]")


SETTING_NAMES = (
    "warehouse", "data_dir", "rating_threshold", "split_strategy", "val_quantile", "test_quantile",
    "val_start", "test_start", "holdout_unit", "holdout_val", "holdout_test", "eval_exclude", "seed", "threads",
    "serving_keep",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recsys", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, strategy_flags: tuple[str, ...] = ("--split", "--strategy")) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _settings_flags(p, strategy_flags)
        return p

    add("migrate", "create or update the warehouse schema from sql/migrations")
    p = add("ingest", "load the MovieLens CSVs of DIR, then rebuild the splits")
    p.add_argument("dir", type=Path, help="folder with ratings.csv, movies.csv [tags.csv, links.csv]")
    p.add_argument("--force", action="store_true", help="reload even if the files did not change")
    add("split", "rebuild both time-based splits with the current settings")
    p = add("sql", "run an ad-hoc query against the warehouse and print the result")
    p.add_argument("query", help="SQL text, e.g. \"select * from split_summary\"")
    p.add_argument("--max-rows", type=int, default=40, help="rows to print [40]")
    p = add("download", "download a MovieLens data set from GroupLens into --data-dir")
    p.add_argument("name", choices=["ml-latest-small", "ml-25m"])
    p.add_argument("--base-url", default=None, help=argparse.SUPPRESS)

    for extend in _EXTENSIONS:
        extend(sub, add)
    return parser


#: Later layers (models, serving) register their subcommands here.
_EXTENSIONS: list[Callable] = []


def main(argv: list[str] | None = None) -> int:
    _load_command_modules()
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides = {name: getattr(args, name, None) for name in SETTING_NAMES}
    if overrides.get("split_strategy"):
        overrides["split_strategy"] = overrides["split_strategy"].replace("-", "_")
    try:
        settings = Settings.from_sources(overrides)
        return COMMANDS[args.command](args, settings) or 0
    except ConfigError as exc:
        say(f"recsys: configuration error: {exc}")
        return 2
    except KeyboardInterrupt:
        say("recsys: interrupted")
        return 130
    except RecsysError as exc:
        say(f"recsys {args.command}: error: {exc}")
        return 1
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            say(f"recsys {args.command}: the warehouse {settings.warehouse} is open in another process "
                "(DuckDB allows one writer per file); wait for that job to finish")
            return 1
        raise


def _load_command_modules() -> None:
    # Imported for their @command registrations; kept lazy so `recsys --help` is quick.
    from recommender import commands, commands_models, commands_serving  # noqa: F401
