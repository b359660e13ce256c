"""The layers import only downward:
settings <- telemetry <- store <- core <- limiting <- web <- faces <- assembly <- cli.

Read from the source with `ast`, so an import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ticketd

LAYERS = ("settings", "telemetry", "store", "core", "limiting", "web", "faces", "assembly", "cli")
# Outside the layers: the package's marker modules, which import nothing of ticketd's but `cli`.
ENTRY_POINTS = {"__init__", "__main__"}
PACKAGE = Path(ticketd.__file__).parent


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "ticketd" or len(parts) < 2:
        return None
    return parts[1]


def imports_of(path: Path, module: str) -> list[str]:
    found: list[str] = []
    package_parts = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                if node.module:
                    found.append(".".join([*base, node.module]))
                else:
                    found += [".".join([*base, alias.name]) for alias in node.names]
            elif node.module:
                found.append(node.module)
    return found


def modules() -> list[tuple[Path, str]]:
    return [
        (path, ".".join(("ticketd", *path.relative_to(PACKAGE).with_suffix("").parts)))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def test_every_module_belongs_to_a_layer() -> None:
    strays = [
        module
        for path, module in modules()
        if layer_of(module) not in LAYERS and path.stem not in ENTRY_POINTS
    ]
    assert strays == []


def test_no_layer_imports_a_layer_above_it() -> None:
    upward = []
    for path, module in modules():
        own = layer_of(module)
        if own not in LAYERS:
            continue
        for imported in imports_of(path, module):
            target = layer_of(imported)
            if target in LAYERS and LAYERS.index(target) > LAYERS.index(own):
                upward.append(f"{module} imports {imported}")
    assert upward == []


def test_web_knows_no_face() -> None:
    # Also true by the order above; said on its own because it is the rule most easily broken.
    for path, module in modules():
        if layer_of(module) == "web":
            assert not [name for name in imports_of(path, module) if layer_of(name) == "faces"], module


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from ticketd.faces.face import Face\nfrom . import guards\n")
    assert imports_of(sample, "ticketd.web.sample") == ["ticketd.faces.face", "ticketd.web.guards"]


def imported_modules(path: Path, module: str, known: set[str]) -> set[str]:
    """The modules of ticketd's that `module` imports: `from package import name` counts as an
    import of `package.name` where that is a module, else of the package."""
    found: set[str] = set()
    package_parts = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package_parts[: len(package_parts) - node.level + 1]
                base = ".".join(filter(None, [*parent, node.module or ""]))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {name for name in found if name in known and name != module}


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = {module.removesuffix(".__init__") for _, module in found}
    return {
        module.removesuffix(".__init__"): imported_modules(path, module.removesuffix(".__init__"), known)
        for path, module in found
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_no_module_imports_itself_through_others() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_checker_sees_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def face_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 3 and parts[1] == "faces" else None


def test_no_face_imports_another() -> None:
    crossing = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if face_of(module) and face_of(target) and face_of(module) != face_of(target)
    ]
    assert crossing == []
