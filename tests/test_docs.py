"""The documentation: a short README, a site (mkdocs.yml, docs/) whose pages all exist and build
with `mkdocs build --strict` (every link and anchor between pages resolves), and text written for
users, free of internal work-tracking references."""

import os
import re
import subprocess
import sys

import pytest

from recommender.config import REPO_ROOT
from tests.test_readme import DOCS, README, nav_pages

MAX_README_LINES = 250
#: Internal references a reader cannot follow (work items, planning rounds, working sessions).
INTERNAL = re.compile(r"\bissues? #|\bwaves?\b|\blast session\b", re.IGNORECASE)


def documentation() -> dict[str, str]:
    pages = {str(path.relative_to(REPO_ROOT)): path.read_text(encoding="utf-8") for path in DOCS.rglob("*.md")}
    return {"README.md": README, **pages}


def test_the_readme_is_short():
    lines = README.count("\n") + (not README.endswith("\n"))
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move detail to docs/ (at most {MAX_README_LINES})"


def test_every_page_in_the_nav_exists_and_every_page_is_in_the_nav():
    pages = nav_pages()
    assert pages and pages[0] == DOCS / "index.md"
    missing = [str(p.relative_to(REPO_ROOT)) for p in pages if not p.is_file()]
    assert not missing, f"mkdocs.yml's nav names pages that do not exist: {missing}"
    unlisted = sorted(str(p.relative_to(REPO_ROOT)) for p in set(DOCS.rglob("*.md")) - set(pages))
    assert not unlisted, f"pages missing from mkdocs.yml's nav: {unlisted}"


def test_the_readmes_links_into_the_docs_resolve():
    targets = re.findall(r"\]\((docs/[^)#\s]+)(?:#[^)\s]*)?\)", README)
    assert targets, "the README links to the documentation"
    broken = sorted({t for t in targets if not (REPO_ROOT / t).is_file()})
    assert not broken, f"README.md links to missing pages: {broken}"


def test_no_internal_references():
    found = [
        f"{name}:{number}: {line.strip()}"
        for name, text in documentation().items()
        for number, line in enumerate(text.splitlines(), 1)
        if INTERNAL.search(line)
    ]
    assert not found, "internal references in the documentation:\n" + "\n".join(found)


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    """`mkdocs build --strict`, as CI runs it: a warning (a broken link or anchor, a page missing
    from the nav, a docstring the API reference cannot read) fails the build."""
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO_ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "reference" / "models" / "index.html").exists()


def test_the_configuration_page_is_what_recsys_config_prints():
    """The configuration page's tables are `recsys config --markdown`, generated from the
    settings' own declarations: a new setting or a changed default cannot go undocumented."""
    from recommender.cli.settings import settings_markdown

    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    start = page.index("<!-- settings:start")
    end = page.index("<!-- settings:end -->") + len("<!-- settings:end -->\n")
    assert page[start:end] == settings_markdown(), "paste `recsys config --markdown` into docs/configuration.md"


def test_the_models_page_quotes_each_models_tuning_budget():
    """The Models page's "tuning on val" column is the model classes' own budgets."""
    from recommender.evaluation.tuning import DEFAULT_TRIALS, SAMPLED_TRIALS
    from recommender.models import MODELS

    page = (DOCS / "models.md").read_text(encoding="utf-8")
    for name in MODELS:
        row = next(line for line in page.splitlines() if line.startswith(f"| `{name}` |"))
        budget = row.rstrip(" |").rsplit("|", 1)[1].strip()
        if name not in DEFAULT_TRIALS:
            assert budget.startswith("swept"), row
            continue
        wanted = f"{DEFAULT_TRIALS[name]} trials"
        if SAMPLED_TRIALS[name] != DEFAULT_TRIALS[name]:
            wanted += f" ({SAMPLED_TRIALS[name]} on a tuning sample)"
        assert budget == wanted, f"docs/models.md gives {name} {budget!r}; its class says {wanted!r}"
