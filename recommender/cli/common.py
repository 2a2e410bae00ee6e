"""What every command group shares: output, the settings flags, opening the warehouse."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from recommender.errors import UserFacingError
from recommender.words import plural

#: What --all-positive sets the threshold to: MovieLens's lowest rating, so every rating is a positive.
ALL_POSITIVE_THRESHOLD = 0.5

#: Settings a flag may override (each also read from RECSYS_<NAME>).
SETTING_NAMES = (
    "warehouse",
    "data_dir",
    "rating_threshold",
    "split_strategy",
    "val_quantile",
    "test_quantile",
    "val_start",
    "test_start",
    "holdout_unit",
    "holdout_val",
    "holdout_test",
    "eval_exclude",
    "seed",
    "folds",
    "partitions",
    "threads",
    "serving_keep",
    "als_engine",
    "als_device",
    "spark_master",
)


#: The CLI's messages are records of this logger (and its children: the library logs the SQL
#: files it runs at DEBUG); ``configure_output`` sends them to standard error.
LOGGER = "recommender"


class _StandardError(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (pytest's capture swaps it)."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def setting_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command's flags give (None: not given)."""
    overrides = {name: getattr(args, name, None) for name in SETTING_NAMES}
    strategy = overrides.get("split_strategy")
    if strategy:
        overrides["split_strategy"] = strategy.replace("-", "_")
    fraction = getattr(args, "test_fraction", None)
    if fraction is not None:  # the published protocols' one share: test, and val drawn the same way
        overrides |= {"holdout_unit": "fraction", "holdout_test": fraction, "holdout_val": fraction}
    if getattr(args, "all_positive", False):
        overrides["rating_threshold"] = ALL_POSITIVE_THRESHOLD
    return overrides


@contextlib.contextmanager
def config_named(path: Path | None) -> Iterator[None]:
    """``--config PATH`` for the command's duration: as RECSYS_CONFIG, so that the server's
    settings and any worker process read the same file."""
    if path is None:
        yield
        return
    before = os.environ.get("RECSYS_CONFIG")
    os.environ["RECSYS_CONFIG"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("RECSYS_CONFIG", None)
        else:
            os.environ["RECSYS_CONFIG"] = before


def configure_output(quiet: bool = False, verbose: bool = False) -> None:
    """--quiet: warnings and errors only; --verbose: also each SQL file run, with its time."""
    handler = _StandardError()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger(LOGGER)
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)


def say(message: str) -> None:
    """Progress and diagnostics go to standard error (results to standard output); a message
    that starts with "warning:" is a warning, which --quiet still shows."""
    log = logging.getLogger(f"{LOGGER}.cli")
    log.log(logging.WARNING if message.lstrip().startswith("warning:") else logging.INFO, message)


def fail(message: str) -> None:
    """An error line: printed whatever the verbosity."""
    print(message, file=sys.stderr, flush=True)


def progress_bars() -> bool:
    """DuckDB's and tqdm's bars only on a terminal, and not with --quiet: in a log they are
    hundreds of carriage-return frames."""
    shown = logging.getLogger(LOGGER).isEnabledFor(logging.INFO)
    return shown and sys.stdout.isatty() and sys.stderr.isatty()


def output_flags(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("output").add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true", help="only warnings, errors and results")
    g.add_argument("-v", "--verbose", action="store_true", help="also each SQL file run, with its time")


#: --trials' help: the budgets live on the model classes (``trials``), which --help does not import.
TRIALS_HELP = "tuning trials per model [each model's own budget, listed on the docs' Models page]"
#: Which settings flags a command shows: the warehouse location alone, or everything that
#: shapes the split and the evaluation too (the environment still sets the others).
WAREHOUSE_FLAGS = ("warehouse", "threads")
#: Commands that only read the warehouse's records and the split's runs.
READ_FLAGS = ("warehouse", "strategy")
ALL_FLAGS = ("warehouse", "data_dir", "split", "threads")


def settings_flags(
    parser: argparse.ArgumentParser,
    strategy_flags: tuple[str, ...] = ("--split", "--strategy"),
    shown: tuple[str, ...] = ALL_FLAGS,
) -> None:
    g = parser.add_argument_group("settings (each also read from RECSYS_<NAME>)")
    if "warehouse" in shown:
        g.add_argument("--warehouse", type=Path, help="DuckDB warehouse file [warehouse/movielens.duckdb]")
    if "data_dir" in shown:
        g.add_argument("--data-dir", dest="data_dir", type=Path, help="download folder [data/raw]")
    if "split" in shown:
        _split_flags(g, strategy_flags)
    elif "strategy" in shown:  # which split's runs a command reads, nothing that builds one
        _strategy_flag(g, strategy_flags)
    if "threads" in shown:
        g.add_argument("--threads", type=int, help="threads of DuckDB, LightGBM and implicit [all cores]")


def engine_flags(parser: argparse.ArgumentParser) -> None:
    """Where ALS is fitted (train, evaluate, retrain)."""
    g = parser.add_argument_group("ALS engine (each also read from RECSYS_<NAME>)")
    g.add_argument(
        "--engine",
        dest="als_engine",
        choices=["implicit", "spark"],
        help="fit ALS with implicit in this process, or with Spark MLlib (pip install -e '.[spark]', Java 17) "
        "[implicit]",
    )
    g.add_argument(
        "--spark-master",
        dest="spark_master",
        metavar="URL",
        help="the Spark master for --engine spark: local[*], spark://host:7077, ... [local[*]]",
    )
    g.add_argument(
        "--device",
        dest="als_device",
        choices=["cpu", "gpu"],
        help="gpu: implicit's CUDA ALS (refused where implicit finds no CUDA) [cpu]",
    )


def check_engine(settings) -> None:
    """Refuse an ALS engine this machine cannot run, before the warehouse is even opened."""
    from recommender.models.als_engines import ALSEngine

    ALSEngine.of(settings).check()


def _strategy_flag(g, strategy_flags: tuple[str, ...]) -> None:
    g.add_argument(
        *strategy_flags,
        dest="split_strategy",
        choices=["global", "per-user", "per_user", "random", "crossfold"],
        help="split strategy: per-user (each user's latest positives) or global (one time cut-off for "
        "everybody, the leakage-strict protocol); the published protocols: random (a seeded random share "
        "of each user's positives) or crossfold (user partitions, with --partitions) [per-user]",
    )


def _split_flags(g, strategy_flags: tuple[str, ...]) -> None:
    g.add_argument("--rating-threshold", dest="rating_threshold", type=float, help="positive if rating >= this [4.0]")
    _strategy_flag(g, strategy_flags)
    g.add_argument("--val-quantile", dest="val_quantile", type=float, help="global split: val starts here [0.8]")
    g.add_argument("--test-quantile", dest="test_quantile", type=float, help="global split: test starts here [0.9]")
    g.add_argument("--val-start", dest="val_start", help="global split: explicit val start date (ISO)")
    g.add_argument("--test-start", dest="test_start", help="global split: explicit test start date (ISO)")
    g.add_argument(
        "--holdout-unit", dest="holdout_unit", choices=["count", "fraction"], help="per-user split unit [fraction]"
    )
    g.add_argument(
        "--holdout-val", dest="holdout_val", type=float, help="per-user, random, crossfold splits: val size [0.1]"
    )
    g.add_argument(
        "--holdout-test", dest="holdout_test", type=float, help="per-user, random, crossfold splits: test size [0.1]"
    )
    g.add_argument(
        "--test-fraction",
        dest="test_fraction",
        type=float,
        help="the published protocols' share: each user's test and val parts hold this fraction of their "
        "positives (sets --holdout-unit fraction, --holdout-test and --holdout-val)",
    )
    g.add_argument("--partitions", type=int, help="crossfold split: user partitions, each evaluated in turn")
    g.add_argument(
        "--all-positive",
        dest="all_positive",
        action="store_true",
        help="every rating is a positive, whatever --rating-threshold says (the published protocols' rule)",
    )
    g.add_argument(
        "--eval-exclude",
        dest="eval_exclude",
        choices=["rated", "positives"],
        help="evaluation leaves out every movie rated before the cut-off, or only the history positives [rated]",
    )
    g.add_argument("--seed", type=int, help="seed for every random choice [42]")


@contextlib.contextmanager
def open_warehouse(settings, *, read_only: bool = False, create: bool = False) -> Iterator[tuple[Any, Any]]:
    """(connection, SQL library) of an up-to-date warehouse; closed on exit. A missing file is
    an error (nothing is created) unless ``create``."""
    from recommender.sqlfiles import SqlLibrary
    from recommender.warehouse.connection import connect
    from recommender.warehouse.migrations import pending

    if not create and not Path(settings.warehouse).exists():
        raise UserFacingError(
            f"no warehouse at {Path(settings.warehouse).resolve()} (--warehouse or RECSYS_WAREHOUSE name "
            "another; a relative path is read from the current folder); run `recsys run` (the main job on the "
            "bundled data) or `recsys ingest [DIR]` first (`recsys migrate` creates an empty one)"
        )
    con = connect(settings, read_only=read_only, progress=progress_bars())
    try:
        missing = pending(con, settings.sql_dir)
        if missing:
            raise UserFacingError(
                f"{settings.warehouse} lacks {plural(len(missing), 'migration')} "
                f"(first: {missing[0].path.name}); run `recsys migrate`"
            )
        yield con, SqlLibrary(settings.sql_dir)
    finally:
        con.close()


def print_relation(con, sql, relative: str, params: dict | None = None, max_rows: int = 40) -> None:
    """Print a query of the SQL library as a box table (``box_table``)."""
    cursor = con.execute(sql.text(relative), params or {})
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()  # consumed whole before the connection runs anything else (small tables)
    print(box_table(columns, rows[:max_rows], more=len(rows) > max_rows))


def box_table(columns: list[str], rows: list[tuple], *, more: bool = False) -> str:
    """A results table a person reads: one header row (no type row), every number of a column
    with the same decimals (4, or 1 where the column holds values of 100 or more), numbers
    right-aligned, empty cells for NULL, and a last line when rows were left out."""
    decimals = [_decimals([row[i] for row in rows]) for i in range(len(columns))]
    cells = [[_cell(value, decimals[i]) for i, value in enumerate(row)] for row in rows]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) for i in range(len(columns))]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]

    def line(left: str, middle: str, right: str) -> str:
        return left + middle.join("─" * (w + 2) for w in widths) + right

    def cells_line(values: list[str], align: list[bool]) -> str:
        return "│" + "│".join(f" {v.rjust(w) if r else v.ljust(w)} " for v, w, r in zip(values, widths, align)) + "│"

    out = [line("┌", "┬", "┐"), cells_line(columns, [False] * len(columns)), line("├", "┼", "┤")]
    out += [cells_line(row, numeric) for row in cells]
    out.append(line("└", "┴", "┘"))
    if more:
        out.append(f"(the first {plural(len(rows), 'row')}; more left out)")
    return "\n".join(out)


def _decimals(values: list[Any]) -> int:
    floats = [abs(v) for v in values if isinstance(v, float) and v == v]
    return 1 if floats and max(floats) >= 100 else 4


def _cell(value: Any, decimals: int) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.{decimals}f}"
    return str(value)


def server_url(url: str | None, flag: str) -> str | None:
    """A server address given on the command line, checked before anything is done with it."""
    if url is not None and not url.startswith(("http://", "https://")):
        raise UserFacingError(f"{flag} takes a server address such as http://127.0.0.1:8000, got {url!r}")
    return url


def reload_server(url: str, api_key: str | None) -> None:
    """POST URL/admin/reload with the admin key; one-line errors."""
    server_url(url, "--reload")
    if not api_key:
        raise UserFacingError("--reload needs the server's admin key in RECSYS_ADMIN_KEY")
    request = urllib.request.Request(url.rstrip("/") + "/admin/reload", method="POST", headers={"X-API-Key": api_key})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            say(f"{url}: {response.read().decode()}")
    except urllib.error.HTTPError as exc:
        from recommender.feedback.http import admin_hint

        body = exc.read().decode(errors="replace")
        raise UserFacingError(f"{url}/admin/reload answered {exc.code}: {body}{admin_hint(exc.code)}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise UserFacingError(
            f"{url}/admin/reload: cannot reach the server ({exc}); the version is "
            "published: reload or restart the server to serve it"
        ) from exc


def server_config(settings):
    """The server's own settings (feedback file, admin key), read the way the server reads them."""
    from server.config import ServerConfig

    return ServerConfig.from_env(settings)
