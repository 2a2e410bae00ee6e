"""The README's and the documentation's commands work as written: their `recsys` examples run in
order in an empty folder (on the bundled data), the README first and then every page of the
site in mkdocs.yml's order, and CI runs the README's two commands."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # a dependency of litestar and optuna, and of mkdocs

from recommender.config import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
DOCS = REPO_ROOT / "docs"
#: Examples that need something a test folder has not: a network, a long-running server, npm,
#: a folder of the reader's own (path/to/...), or an optional engine (Spark, a GPU; the two
#: commands install neither: their own tests cover them).
NOT_RUN = re.compile(r"\b(serve|download|build-app)\b|https?://|path/to/|--engine spark|--device gpu")


def bash_blocks(text: str = README) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, re.S)


def nav_pages() -> list[Path]:
    """The site's pages (mkdocs.yml's nav), in order."""

    def walk(entry) -> list[str]:
        if isinstance(entry, str):
            return [entry]
        if isinstance(entry, list):
            return [page for item in entry for page in walk(item)]
        if isinstance(entry, dict):
            return [page for value in entry.values() for page in walk(value)]
        return []

    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    return [DOCS / page for page in walk(config["nav"])]


def documented_text() -> list[str]:
    """The README, then every page of the site in its order: the order their examples run in."""
    return [README, *(page.read_text(encoding="utf-8") for page in nav_pages())]


def readme_examples() -> list[tuple[dict[str, str], list[str]]]:
    """(environment assignments, argv) of every runnable `recsys ...` / `python -c ...` line of
    the README and the documentation, in order."""
    examples = []
    for text in documented_text():
        for block in bash_blocks(text):
            for line in block.splitlines():
                words = shlex.split(line, comments=True)
                env = {}
                while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                    key, value = words.pop(0).split("=", 1)
                    env[key] = value
                if not words or NOT_RUN.search(line) or "&&" in words:
                    continue
                if words[0] == "recsys" or words[:2] == ["python", "-c"]:
                    examples.append((env, words))
    return examples


def test_the_readme_has_runnable_examples():
    commands = [" ".join(argv[:2]) for _, argv in readme_examples()]
    for expected in ("recsys run", "recsys ingest", "recsys evaluate", "recsys precompute", "recsys sql"):
        assert expected in commands
    readme_lines = {line.split("#")[0].strip() for block in bash_blocks() for line in block.splitlines()}
    assert "recsys run" in readme_lines, "the README's tour runs the main job"


def test_ci_runs_the_readmes_two_commands():
    """The first two bash blocks are the two commands; .ci/run runs both as written."""
    install_and_run, test = (block.strip() for block in bash_blocks()[:2])
    assert install_and_run.endswith("recsys run") and "pip install" in install_and_run
    assert "pytest" in test
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    ci_lines = {line.strip() for line in ci.splitlines()}
    assert install_and_run in ci_lines and test in ci_lines


@pytest.mark.slow
def test_the_readme_examples_run_in_order_in_an_empty_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECSYS_")}
    for extra, argv in readme_examples():
        command = (
            [sys.executable, "-m", "recommender", *argv[1:]] if argv[0] == "recsys" else [sys.executable, *argv[1:]]
        )
        done = subprocess.run(command, cwd=tmp_path, env={**env, **extra}, capture_output=True, text=True, timeout=600)
        shown = " ".join(argv)
        assert done.returncode == 0, f"{shown}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, shown
    assert (tmp_path / "reports" / "report.md").exists()
