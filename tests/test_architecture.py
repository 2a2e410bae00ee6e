"""Guards on the code's shape: packages import only lower layers, modules without cycles, SQL lives in sql/, model
names have one source, `recsys --help` stays light, and every command fails in one line."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.config import REPO_ROOT
from recommender.names import MODEL_NAMES

PACKAGES = ("recommender", "server")
SQL_KEYWORDS = ("select", "insert", "update", "delete", "create", "with", "copy", "attach", "alter", "drop", "from")
#: Statements allowed in Python (none).
SQL_ALLOWED: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """Project modules ``path`` imports at module level (function-level imports are lazy: they
    run when called, so they cannot form an import-time cycle)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body:
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                base = ".".join(module.split(".")[: -node.level] + [node.module])
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def test_the_import_graph_has_no_cycle():
    modules = _modules()
    graph = {m: _imports(p, m, set(modules)) for m, p in modules.items()}
    # a package imports its own submodules through __init__: that edge is not a cycle
    graph = {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in graph[node]:
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(dep) :] + [dep]))
            if dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])


#: The library's packages from the bottom up: a package may import its own modules and any
#: package of a lower layer, never one of its own layer (but the pairs below) or a higher one.
#: Function-level (lazy) imports count too: they are edges of the design, if not of import time.
LAYERS = (
    ("recommender", "errors", "config", "names", "sqlfiles", "faults", "threads", "sparse", "datasets", "words"),
    ("feedback",),
    ("warehouse",),
    ("models",),
    ("lists",),
    ("evaluation", "version"),
    ("jobs",),
    ("cli", "server", "__main__"),
)
#: Edges allowed inside a layer: the CLI starts the server (lazily, for `recsys serve`); the
#: lowest layer's modules are single files whose order the cycle test keeps.
SAME_LAYER = {("cli", "server"), ("__main__", "cli")} | {(a, b) for a in LAYERS[0] for b in LAYERS[0]}


def _package(module: str) -> str:
    """``recommender.jobs.pipeline`` -> ``jobs``; ``server.routes.ops`` -> ``server``."""
    parts = module.split(".")
    return "server" if parts[0] == "server" else parts[1] if len(parts) > 1 else "recommender"


def _all_imports(path: Path, module: str, known: set[str]) -> set[str]:
    """Every project module ``path`` imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                base = ".".join(module.split(".")[: -node.level] + [node.module])
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
                break
    return found


def test_packages_import_only_lower_layers():
    layer = {package: n for n, packages in enumerate(LAYERS) for package in packages}
    modules = _modules()
    back_edges = []
    for module, path in modules.items():
        source = _package(module)
        assert source in layer, f"{module}: package {source!r} has no layer in LAYERS"
        for imported in _all_imports(path, module, set(modules)):
            target = _package(imported)
            if target == source or (source, target) in SAME_LAYER:
                continue
            if layer[target] >= layer[source]:
                back_edges.append(f"{module} imports {imported} ({source} -> {target})")
    assert not back_edges, "imports against the layers:\n" + "\n".join(sorted(back_edges))


def test_the_library_never_imports_the_cli_or_the_server():
    """cli -> library, server -> library; never back (the CLI reaches the server lazily)."""
    for module, path in _modules().items():
        if module.startswith("recommender") and not module.startswith(("recommender.cli", "recommender.__main__")):
            text = path.read_text()
            assert "from recommender.cli" not in text and "import recommender.cli" not in text, module
            assert "from server" not in text and "import server" not in text, module


def _sql_literals(path: Path):
    """(enclosing function, line, text) of every SQL literal passed to execute/sql/query."""

    def walk(node, function):
        for child in ast.iter_child_nodes(node):
            yield from walk(child, child.name if isinstance(child, ast.FunctionDef) else function)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in (
            "execute",
            "executemany",
            "sql",
            "query",
        ):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                text = arg.value
            elif isinstance(arg, ast.JoinedStr):
                text = "".join(v.value for v in arg.values if isinstance(v, ast.Constant))
            else:
                return
            words = text.strip().lower().split()
            if words and words[0] in SQL_KEYWORDS:
                yield function, node.lineno, text.strip()[:60]

    yield from walk(ast.parse(path.read_text()), "<module>")


def test_no_sql_text_outside_sql_files():
    found = []
    for package in PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            rel = str(path.relative_to(REPO_ROOT))
            for function, line, text in _sql_literals(path):
                if (rel, function) not in SQL_ALLOWED:
                    found.append(f"{rel}:{line} ({function}): {text!r}")
    assert not found, "SQL belongs in sql/:\n" + "\n".join(found)


def test_model_names_have_one_source():
    """No literal list of all the model names outside recommender/names.py."""
    offenders = []
    for package in PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            if path.name == "names.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Tuple | ast.List | ast.Set):
                    names = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                    if set(MODEL_NAMES) <= names:
                        offenders.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    for path in (REPO_ROOT / "sql").rglob("*.sql"):
        text = path.read_text()
        if all(f"'{m}'" in text for m in MODEL_NAMES):
            offenders.append(str(path.relative_to(REPO_ROOT)))
    assert not offenders, offenders


def test_help_imports_neither_implicit_nor_pyarrow():
    code = (
        "import sys\nfrom recommender.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('implicit', 'pyarrow', 'scipy', 'litestar') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


BAD_ARGUMENTS = [
    ["migrate", "--warehouse", "/proc/no/such/dir/x.duckdb"],
    ["ingest", "{tmp}/no-such-folder"],
    ["split"],
    ["sql", "select * from nowhere"],
    ["download", "ml-latest-small", "--base-url", "http://127.0.0.1:9"],
    ["ingest-feedback", "--server", "http://127.0.0.1:9"],
    ["ingest-feedback", "--server", "notaurl"],
    ["rollback", "--reload", "localhost:8000"],
    ["retrain", "--reload", "notaurl"],
    ["train"],
    ["tune", "als", "--trials", "0"],
    ["evaluate"],
    ["runs"],
    ["report"],
    ["precompute"],
    ["versions"],
    ["rollback", "3"],
    ["run", "{tmp}/no-such-folder"],
    ["retrain"],
    ["serve", "--port", "1"],
    ["train", "--seed", "x"],
    ["split", "--rating-threshold", "9"],
    ["build-app", "--app-source", "{tmp}/nowhere"],
    ["serve", "--app-dir", "{tmp}/nowhere"],
    ["ingest", "{tmp}"],  # no MovieLens layout: names the supported ones
    ["sql", "select 1; select * from nowhere", "--quiet"],
]


@pytest.mark.parametrize("argv", BAD_ARGUMENTS, ids=lambda a: " ".join(a[:2]))
def test_every_command_fails_in_one_line(argv, tmp_path):
    """A bad argument or a missing prerequisite: one line on stderr, exit 2, no traceback."""
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    env = {
        "PATH": "/usr/bin:/bin",
        "RECSYS_WAREHOUSE": str(tmp_path / "w" / "movielens.duckdb"),
        "RECSYS_ADMIN_KEY": "k",
        "HOME": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-m", "recommender", *argv], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env
    )
    assert out.returncode == 2, (argv, out.returncode, out.stderr[-2000:])
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith(("recsys ", "usage: recsys")) or "error:" in lines[-1], lines
    assert len([line for line in lines if "error" in line]) == 1, lines


def test_only_the_models_touch_their_fitted_libraries():
    """A model's fitted library object (``model_``: implicit's, for instance) is the model's own
    business: everything else asks the model (``ItemKNN.similarity``, ``ALS.user_factors``, ...)."""
    reaching_in = []
    for module, path in _modules().items():
        if module.startswith("recommender.models"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "model_":
                reaching_in.append(f"{module}:{node.lineno}")
    assert not reaching_in, f"reaching into a model's fitted library object: {reaching_in}"


def test_what_a_model_can_do_is_asked_of_the_model():
    """Outside ``recommender.models`` nothing decides a model's behaviour from its class: no
    ``isinstance`` or ``issubclass`` against a model class, no ``getattr`` probe on a model;
    the model answers (``for_user``, ``explain``, ``pool_of``, ``share``, ``prepare``)."""
    import importlib
    import pkgutil

    import recommender.models as models_package
    from recommender.models import Recommender

    model_classes = set()
    for info in pkgutil.iter_modules(models_package.__path__):
        module = importlib.import_module(f"recommender.models.{info.name}")
        model_classes |= {
            name for name, value in vars(module).items() if isinstance(value, type) and issubclass(value, Recommender)
        }
    assert {"Recommender", "ALS", "RerankedALS", "TwoStageRanker"} <= model_classes
    deciding = []
    for module, path in _modules().items():
        if module.startswith("recommender.models"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id in ("isinstance", "issubclass") and len(node.args) == 2:
                names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
                names |= {n.attr for n in ast.walk(node.args[1]) if isinstance(n, ast.Attribute)}
                if names & model_classes:
                    deciding.append(f"{module}:{node.lineno}")
            if node.func.id == "getattr" and any(
                isinstance(a, ast.Attribute) and a.attr in ("fitted", "model") for a in node.args[:1]
            ):
                deciding.append(f"{module}:{node.lineno}")
    assert not deciding, f"a model's class decides outside recommender.models: {deciding}"
