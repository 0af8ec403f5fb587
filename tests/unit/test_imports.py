"""The dependency direction of the package: no module of numerous/ imports itself back through
others (imports under TYPE_CHECKING count: they are the same coupling), and the runtime core
knows nothing of its extensions."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "numerous"
CORE = ["numerous.apps._runtime", "numerous.apps._session", "numerous.apps._sessions",
        "numerous.apps._socket", "numerous.apps._protocol", "numerous.apps._client"]
EXTENSIONS = ("numerous.apps.auth", "numerous.apps.agent", "numerous.apps.testing",
              "numerous.cli")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, name: str, modules: set[str]) -> set[str]:
    """The modules of the package that `path` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] \
                if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            subs = {f"{target}.{alias.name}" for alias in node.names} & modules
            found |= subs if len(subs) == len(node.names) else subs | ({target} & modules)
    return found - {name}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(path): path for path in PACKAGE.rglob("*.py")
             if "bootstrap" not in path.parts[-3:-1] and "bootstrap_auth" not in path.parts}
    modules = set(files)
    return {name: imported(path, name, modules) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for other in graph[todo.pop()] - seen:
            seen.add(other)
            todo.append(other)
    return seen


def test_no_module_imports_itself_back() -> None:
    assert cycles(import_graph()) == []


def test_the_check_finds_a_cycle_when_there_is_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_runtime_core_imports_none_of_its_extensions() -> None:
    graph = import_graph()
    for module in CORE:
        leaks = sorted(m for m in reachable(graph, module) if m.startswith(EXTENSIONS))
        assert leaks == [], f"{module} reaches {leaks}"


def private_crossings() -> list[str]:
    """Imports of another package's private module or of a private name from another package.

    A package may use its own private modules and those of the packages it lies in (an
    extension uses the core's `_runtime`); never a sibling's (`numerous.cli` must not reach
    into `numerous.apps._dev`, nor `numerous.apps` into `numerous.apps.auth._routes`).
    """
    found = []
    for path in PACKAGE.rglob("*.py"):
        if "bootstrap_app" in path.parts or "bootstrap_auth" in path.parts:
            continue
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                parts = package.split(".")
                target = ".".join([*parts[: len(parts) - (node.level - 1)],
                                   *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if not target.startswith("numerous."):
                continue
            owner = ".".join(p for p in target.split(".") if not p.startswith("_"))
            private_module = owner != target
            if private_module and not (package + ".").startswith(owner + "."):
                found.append(f"{name} imports {target}")
            same = target.rpartition(".")[0] == package or target == package
            found += [f"{name} imports {alias.name} from {target}" for alias in node.names
                      if alias.name.startswith("_") and not same and private_module]
    return found


def test_no_package_reaches_into_another_packages_private_parts() -> None:
    assert private_crossings() == []
