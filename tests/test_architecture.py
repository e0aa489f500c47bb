"""The package's shape: each pipeline stage is a folder, data flows one way, and nothing
imports from a later stage or in a circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "qa"
# Earlier stages first; a module may import its own stage and earlier ones only.
STAGES = [
    ("foundation", ["qa", "qa.errors", "qa.records", "qa.config", "qa.threads"]),
    ("sources", ["qa.sources"]),
    ("chunking", ["qa.chunking"]),
    ("language", ["qa.language"]),
    ("vectors", ["qa.embedding"]),
    ("index", ["qa.index"]),
    ("answer", ["qa.answer"]),
    ("evaluation", ["qa.evaluation"]),
    ("training", ["qa.training"]),
    ("web", ["qa.http"]),
    ("command line and MCP", ["qa.cli", "qa.__main__", "qa.mcp_server"]),
]


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package modules ``name`` imports, anywhere in the file (functions included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in known else base)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in known and m != name}


def stage(name: str) -> int:
    for rank, (_, prefixes) in enumerate(STAGES):
        if any(name == p or (p != "qa" and name.startswith(p + ".")) for p in prefixes):
            return rank
    raise AssertionError(f"{name} belongs to no stage; add it to STAGES")


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_module_belongs_to_a_stage() -> None:
    for name in modules():
        stage(name)


def test_nothing_imports_from_a_later_stage() -> None:
    upward = [f"{m} ({STAGES[stage(m)][0]}) imports {d} ({STAGES[stage(d)][0]})"
              for m, deps in graph().items() for d in deps if stage(d) > stage(m)]
    assert upward == []


def test_there_is_no_import_cycle() -> None:
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(edges[node]):
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep):] + [dep] if dep in path else [node, dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_cycle_check_finds_a_cycle(tmp_path: Path) -> None:
    """The checks above can fail: a made-up pair of modules importing each other is caught."""
    (tmp_path / "a.py").write_text("from qa.b import x\n")
    (tmp_path / "b.py").write_text("from qa.a import y\n")
    known = {"qa.a": tmp_path / "a.py", "qa.b": tmp_path / "b.py"}
    assert imports("qa.a", known["qa.a"], known) == {"qa.b"} and imports("qa.b", known["qa.b"], known) == {"qa.a"}


def test_the_cli_and_the_json_schemas_load_without_the_web_stack() -> None:
    script = ("import sys, qa.cli, qa.http.schemas, qa.answer.service, qa.index.build; "
              "print(sorted(m for m in ('fastapi', 'starlette', 'uvicorn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
