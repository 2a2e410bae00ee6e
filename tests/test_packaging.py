"""The installed project works outside the checkout (console script, both packages)."""

import subprocess
import sys
from pathlib import Path


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
