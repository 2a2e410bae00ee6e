"""The installed project works outside the checkout (console script, both packages)."""

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from recommender.config import REPO_ROOT
from tests.server.live import free_port

BUNDLED_FILES = ("ratings.csv.gz", "movies.csv.gz", "tags.csv.gz", "links.csv.gz", "README.txt")


def test_packages_import_from_anywhere(tmp_path):
    # pytest puts the repository on sys.path; a user's shell does not
    code = "import recommender, server, server.app; print(server.create_app.__module__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "server.app"


def test_console_script_help(tmp_path):
    script = Path(sys.executable).parent / "recsys"  # the entry point pip installed next to this Python
    assert script.exists(), f"no recsys script beside {sys.executable}: install with pip install -e ."
    out = subprocess.run([str(script), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for name in ("serve", "precompute", "retrain", "rollback", "versions", "ingest-feedback"):
        assert name in out.stdout


@pytest.mark.slow
def test_the_built_wheel_runs_the_main_job_on_its_bundled_data_and_serves(tmp_path):
    """The wheel carries the SQL and the bundled data: installed into a fresh virtual
    environment outside the checkout, its `recsys run` runs the main job and `recsys serve`
    serves. (The environment borrows this one's dependencies through a .pth file, so the test
    needs no network; the project itself comes only from the wheel.)"""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(REPO_ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert "recommender/sql/warehouse/migrations/001_raw_tables.sql" in names
    assert {f"recommender/datasets/ml-latest-small/{f}" for f in BUNDLED_FILES} <= names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    venv_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    dependencies = Path(httpx.__file__).parents[1]  # this environment's site-packages
    (venv_site / "borrowed_dependencies.pth").write_text(f"{dependencies}\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECSYS_", "PYTHON"))}
    env["RECSYS_ACCESS_LOG"] = "off"

    where = subprocess.run(
        [
            str(python),
            "-c",
            "import recommender.config as c, recommender.datasets as d; print(c.SQL_DIR, d.bundled_dir())",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert where == [
        str(venv_site / "recommender" / "sql"),
        str(venv_site / "recommender" / "datasets" / "ml-latest-small"),
    ]

    done = subprocess.run(
        [str(venv / "bin" / "recsys"), "run", "--trials", "1"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "data: the bundled MovieLens ml-latest-small" in done.stderr
    assert "Traceback" not in done.stderr and "\r" not in done.stderr + done.stdout  # no progress-bar frames
    assert "│ als " in done.stdout and "per_user" in done.stdout  # the results table
    assert (work / "warehouse" / "movielens.duckdb").exists() and (work / "reports" / "report.md").exists()

    port = free_port()
    server = subprocess.Popen(
        [str(venv / "bin" / "recsys"), "serve", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = None
        for _ in range(300):  # bounded wait
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/recommend/1?k=3", timeout=1).json()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert body is not None and body["tier"] == "personalised" and len(body["items"]) == 3
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_every_python_package_is_listed_for_the_wheel():
    """pyproject.toml lists its packages by name: a new subpackage left off the list would be
    missing from the wheel (and from every install but an editable one)."""
    import tomllib

    listed = set(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(REPO_ROOT).parts)
        for top in ("recommender", "server")
        for init in (REPO_ROOT / top).rglob("__init__.py")
    }
    assert found <= listed, (
        f"packages missing from pyproject.toml's [tool.setuptools] packages: {sorted(found - listed)}"
    )
