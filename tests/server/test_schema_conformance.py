"""The published OpenAPI schema is the contract: an outside client (schemathesis, pinned in
pyproject.toml) generates requests from it against a live server, with every check and every
phase (examples, coverage, fuzzing, stateful), the admin routes included (their key is
supplied), and finds no schema-valid request refused, no undocumented status, no response off
its schema, and no 5xx. Rate limits are off for this run (a burst of generated requests would
meet them); tests/server/test_api.py and test_hostile.py cover the limits."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.live import ADMIN_KEY, live_server

pytestmark = pytest.mark.slow


def test_schemathesis_finds_nothing(served, tmp_path):
    cli = Path(sys.executable).parent / "schemathesis"
    assert cli.exists(), "schemathesis is a dev dependency: pip install -e '.[dev]'"
    env = {
        "RECSYS_FEEDBACK_DB": str(tmp_path / "feedback.duckdb"),
        "RECSYS_RATE_LIMIT_RATINGS": "0",
        "RECSYS_RATE_LIMIT_ADMIN": "0",
    }
    with live_server(served, env) as base:
        out = subprocess.run(
            [str(cli), "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
             "run", f"{base}/schema/openapi.json", "--checks", "all",
             "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", "40",
             "--seed", "7", "-H", f"X-API-Key: {ADMIN_KEY}"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    assert out.returncode == 0, out.stdout[-6000:]
    assert "No issues found" in out.stdout
