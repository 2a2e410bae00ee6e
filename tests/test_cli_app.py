"""`recsys build-app`: npm ci (only without node_modules), then npm run export:web, in the demo
app's folder; one-line errors when the folder or npm is missing or npm fails. A fake npm on
PATH stands in for the real one (the browser test builds the real export)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

FAKE_NPM = """#!/bin/sh
echo "$*" >> "{calls}"
if [ "$1" = "ci" ]; then /bin/mkdir -p node_modules; fi
if [ "$1" = "run" ] && [ "$2" = "export:web" ]; then
  [ -n "$FAKE_NPM_FAIL" ] && {{ echo "metro exploded" >&2; exit 3; }}
  /bin/mkdir -p dist && echo '<html></html>' > dist/index.html
fi
exit 0
"""


def build_app(tmp_path: Path, *args: str, path: str, **env: str) -> subprocess.CompletedProcess:
    environ = {"PATH": path, "HOME": str(tmp_path), "RECSYS_WAREHOUSE": str(tmp_path / "w.duckdb"), **env}
    return subprocess.run(
        [sys.executable, "-m", "recommender", "build-app", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=environ,
    )


@pytest.fixture
def source(tmp_path) -> Path:
    folder = tmp_path / "demo-app"
    folder.mkdir()
    (folder / "package.json").write_text('{"name": "fake", "scripts": {"export:web": "true"}}')
    return folder


@pytest.fixture
def fake_npm(tmp_path) -> tuple[str, Path]:
    """(PATH with a fake npm first, the file it logs its arguments to)."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "npm-calls.txt"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM.format(calls=calls))
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    return f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin", calls


def _one_error_line(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("recsys build-app: error:")]
    assert len(lines) == 1, out.stderr
    return lines[0]


def test_without_npm_it_fails_in_one_line(tmp_path, source):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    line = _one_error_line(build_app(tmp_path, path=str(empty)))
    assert "npm is not installed" in line
    assert not (source / "dist").exists()


def test_without_the_source_folder_it_says_so(tmp_path, fake_npm):
    path, calls = fake_npm
    line = _one_error_line(build_app(tmp_path, "--app-source", str(tmp_path / "nowhere"), path=path))
    assert "no demo app source" in line and "wheel" in line
    assert not calls.exists(), "npm must not run"


def test_it_installs_once_then_exports(tmp_path, source, fake_npm):
    path, calls = fake_npm
    first = build_app(tmp_path, path=path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == str(Path("demo-app") / "dist")
    assert (source / "dist" / "index.html").is_file()
    assert "/app" in first.stderr
    assert calls.read_text().splitlines() == ["ci", "run export:web"]

    calls.unlink()
    again = build_app(tmp_path, "--app-source", str(source), path=path)  # node_modules now exists
    assert again.returncode == 0, again.stderr
    assert calls.read_text().splitlines() == ["run export:web"]
    assert "--app-dir" not in again.stderr  # the folder `recsys serve` finds on its own

    other = tmp_path / "other-app"
    other.mkdir()
    (other / "package.json").write_text((source / "package.json").read_text())
    elsewhere = build_app(tmp_path, "--app-source", str(other), path=path)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert f"`recsys serve --app-dir {other / 'dist'}`" in elsewhere.stderr


def test_a_failing_npm_is_one_line_after_its_own_output(tmp_path, source, fake_npm):
    path, _ = fake_npm
    out = build_app(tmp_path, path=path, FAKE_NPM_FAIL="1")
    line = _one_error_line(out)
    assert "npm run export:web" in line and "exit 3" in line
    assert "metro exploded" in out.stderr
    assert out.stdout == ""


def test_serve_refuses_an_app_dir_without_an_export_before_anything_else(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "recommender", "serve", "--app-dir", str(tmp_path / "nowhere")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "RECSYS_WAREHOUSE": str(tmp_path / "w.duckdb")},
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "recsys serve: error: --app-dir" in out.stderr and "recsys build-app" in out.stderr
    assert "precomputing" not in out.stderr


def test_serve_finds_demo_app_dist_in_the_current_folder(tmp_path, monkeypatch):
    from recommender.cli.serving import _with_app_dir
    from recommender.config import Settings
    from server.config import ServerConfig

    config = ServerConfig.from_env(Settings(warehouse=tmp_path / "w.duckdb"), environ={})
    monkeypatch.chdir(tmp_path)
    assert _with_app_dir(config, None).app_dir is None  # nothing built here
    (tmp_path / "demo-app" / "dist").mkdir(parents=True)
    assert _with_app_dir(config, None).app_dir == Path("demo-app") / "dist"
    elsewhere = tmp_path / "other"
    env_config = ServerConfig.from_env(config.settings, environ={"RECSYS_APP_DIR": str(elsewhere)})
    assert _with_app_dir(env_config, None).app_dir == elsewhere  # RECSYS_APP_DIR wins over the default
    elsewhere.mkdir()
    (elsewhere / "index.html").write_text("<html></html>")
    assert _with_app_dir(config, elsewhere).app_dir == elsewhere  # and --app-dir over both
