"""The installed project works outside the checkout (console script, both packages)."""

import subprocess
import sys


def test_packages_import_from_anywhere(tmp_path):
    # pytest puts the repository on sys.path; a user's shell does not
    code = "import recommender, server, server.app; print(server.create_app.__module__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "server.app"


def test_console_script_help(tmp_path):
    out = subprocess.run([sys.executable, "-m", "recommender", "--help"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "serve" in out.stdout and "precompute" in out.stdout
