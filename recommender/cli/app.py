"""The demo app: build-app (its web export, which `recsys serve` serves at /app)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from recommender.cli.common import say
from recommender.errors import UserFacingError

#: The demo app's source, relative to the current folder (a checkout of the repository).
DEFAULT_APP_SOURCE = Path("demo-app")


def register(add) -> None:
    p = add(
        "build-app",
        "build the demo app's web export (DIR/dist) that `recsys serve` serves at /app; needs Node.js and npm",
        settings=False,
    )
    p.add_argument(
        "--app-source",
        type=Path,
        default=DEFAULT_APP_SOURCE,
        metavar="DIR",
        help=f"the demo app's source folder [{DEFAULT_APP_SOURCE}]",
    )
    p.set_defaults(handler=cmd_build_app)


def cmd_build_app(args: argparse.Namespace, settings) -> int:
    source: Path = args.app_source
    if not (source / "package.json").is_file():
        raise UserFacingError(
            f"no demo app source at {source} (no package.json): run this in a checkout of the repository, "
            "or pass --app-source DIR (an installed wheel has no demo-app source)"
        )
    npm = shutil.which("npm")
    if npm is None:
        raise UserFacingError(
            "npm is not installed (the demo app needs Node.js 20+ and npm); install Node.js, "
            "or build the app elsewhere and pass its dist folder to `recsys serve --app-dir DIR`"
        )
    if not (source / "node_modules").is_dir():
        _npm(npm, source, "ci")
    _npm(npm, source, "run", "export:web")
    dist = source / "dist"
    if not (dist / "index.html").is_file():
        raise UserFacingError(f"`npm run export:web` wrote no {dist / 'index.html'}")
    served = "" if source.resolve() == DEFAULT_APP_SOURCE.resolve() else f" --app-dir {dist}"
    say(f"built {dist}: `recsys serve{served}` serves it at http://127.0.0.1:8000/app")
    print(dist)
    return 0


def _npm(npm: str, source: Path, *args: str) -> None:
    """``npm ARGS`` in ``source``; its output goes to standard error (stdout is for results)."""
    command = " ".join(("npm", *args))
    say(f"$ (cd {source} && {command})")
    try:
        done = subprocess.run([npm, *args], cwd=source, stdout=sys.stderr, check=False)
    except OSError as exc:
        raise UserFacingError(f"`{command}` could not start: {exc}") from exc
    if done.returncode != 0:
        raise UserFacingError(f"`{command}` failed in {source} (exit {done.returncode}); its output is above")
