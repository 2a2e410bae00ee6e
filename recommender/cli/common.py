"""What every command group shares: output, the settings flags, opening the warehouse."""

from __future__ import annotations

import argparse
import contextlib
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from recommender.errors import UserFacingError

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
    "threads",
    "serving_keep",
)


def say(message: str) -> None:
    """Progress and diagnostics go to standard error; results to standard output."""
    print(message, file=sys.stderr, flush=True)


def settings_flags(
    parser: argparse.ArgumentParser, strategy_flags: tuple[str, ...] = ("--split", "--strategy")
) -> None:
    g = parser.add_argument_group("settings (each also read from RECSYS_<NAME>)")
    g.add_argument("--warehouse", type=Path, help="DuckDB warehouse file [warehouse/movielens.duckdb]")
    g.add_argument("--data-dir", dest="data_dir", type=Path, help="download folder [data/raw]")
    g.add_argument("--rating-threshold", dest="rating_threshold", type=float, help="positive if rating >= this [4.0]")
    g.add_argument(
        *strategy_flags,
        dest="split_strategy",
        choices=["global", "per-user", "per_user"],
        help="split strategy [global]",
    )
    g.add_argument("--val-quantile", dest="val_quantile", type=float, help="global split: val starts here [0.8]")
    g.add_argument("--test-quantile", dest="test_quantile", type=float, help="global split: test starts here [0.9]")
    g.add_argument("--val-start", dest="val_start", help="global split: explicit val start date (ISO)")
    g.add_argument("--test-start", dest="test_start", help="global split: explicit test start date (ISO)")
    g.add_argument(
        "--holdout-unit", dest="holdout_unit", choices=["count", "fraction"], help="per-user split unit [fraction]"
    )
    g.add_argument("--holdout-val", dest="holdout_val", type=float, help="per-user split: val size [0.1]")
    g.add_argument("--holdout-test", dest="holdout_test", type=float, help="per-user split: test size [0.1]")
    g.add_argument(
        "--eval-exclude",
        dest="eval_exclude",
        choices=["rated", "positives"],
        help="evaluation leaves out every movie rated before the cut-off, or only the history positives [rated]",
    )
    g.add_argument("--seed", type=int, help="seed for every random choice [42]")
    g.add_argument("--threads", type=int, help="DuckDB threads [all cores]")


@contextlib.contextmanager
def open_warehouse(settings, *, read_only: bool = False, create: bool = False) -> Iterator[tuple[Any, Any]]:
    """(connection, SQL library) of an up-to-date warehouse; closed on exit. A missing file is
    an error (nothing is created) unless ``create``."""
    from recommender.warehouse.connection import SqlLibrary, connect
    from recommender.warehouse.migrations import pending

    if not create and not Path(settings.warehouse).exists():
        raise UserFacingError(
            f"no warehouse at {settings.warehouse}; run `recsys migrate` and "
            "`recsys ingest DIR` (or `recsys run DIR`) first"
        )
    con = connect(settings, read_only=read_only)
    try:
        missing = pending(con, settings.sql_dir)
        if missing:
            raise UserFacingError(
                f"{settings.warehouse} lacks {len(missing)} migration(s) "
                f"(first: {missing[0].path.name}); run `recsys migrate`"
            )
        yield con, SqlLibrary(settings.sql_dir)
    finally:
        con.close()


def print_relation(con, sql, relative: str, params: dict | None = None, max_rows: int = 40) -> None:
    """Print a query of the SQL library as DuckDB's box table (the format of its own shell)."""
    con.sql(sql.text(relative), params=params).show(max_rows=max_rows, max_width=250)


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
        raise UserFacingError(f"{url}/admin/reload answered {exc.code}: {exc.read().decode(errors='replace')}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise UserFacingError(
            f"{url}/admin/reload: cannot reach the server ({exc}); the version is "
            "published: reload or restart the server to serve it"
        ) from exc


def server_config(settings):
    """The server's own settings (feedback file, admin key), read the way the server reads them."""
    from server.config import ServerConfig

    return ServerConfig.from_env(settings)
