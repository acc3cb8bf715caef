"""The package's folders are its layers, and imports run one way: entry points -> adapters -> core -> stripe_client
-> config/output -> objects -> errors. A module may import its own layer and the layers after it, never one before:
so a new object touches objects/ only, and the core never learns a protocol's wire format. Inside a layer, no two
modules import each other, however indirectly (a cycle held open by a lazy or TYPE_CHECKING import counts too)."""

from __future__ import annotations

import ast
from pathlib import Path

import destination_stripe

PACKAGE = Path(destination_stripe.__file__).parent
LAYERS = ("entry", "adapters", "core", "stripe_client", "kernel", "objects", "errors")
ENTRY_POINTS = {"run", "__main__", "cdk_destination", "__init__"}
KERNEL = {"config", "output"}
MAX_LINES = 450  # the redesign's target is about 300; index_paging (the proven 1.1x paging) is the one above


def _layer(module: str) -> str:
    """The layer of a dotted module name inside the package ("core.writer" -> "core")."""
    head = module.split(".", 1)[0]
    if head in ENTRY_POINTS:
        return "entry"
    if head in KERNEL:
        return "kernel"
    if head == "errors":
        return "errors"
    assert head in LAYERS, f"{module} is in no layer: add its folder to LAYERS"
    return head


def _modules() -> dict[str, Path]:
    return {".".join(path.relative_to(PACKAGE).with_suffix("").parts): path for path in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """Every `destination_stripe.*` module the file imports, at any depth (lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
            [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
        for name in names:
            if name.startswith("destination_stripe."):
                found.add(name.removeprefix("destination_stripe."))
    return found


def test_every_import_points_to_the_same_layer_or_a_later_one() -> None:
    wrong = []
    for module, path in _modules().items():
        mine = LAYERS.index(_layer(module))
        for imported in _imports(path):
            if LAYERS.index(_layer(imported)) < mine:
                wrong.append(f"{module} ({_layer(module)}) imports {imported} ({_layer(imported)})")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_only_the_stripe_client_and_the_objects_import_the_stripe_sdk() -> None:
    allowed = {"stripe_client", "objects"}
    users = {module for module, path in _modules().items()
             if any(isinstance(node, ast.Import | ast.ImportFrom) and (
                 (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "stripe")
                 or (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "stripe" for a in node.names)))
                 for node in ast.walk(ast.parse(path.read_text())))}
    assert {_layer(module) for module in users} <= allowed, sorted(users)


def test_no_module_grows_past_what_one_sitting_can_read() -> None:
    long = {module: n for module, path in _modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def _module_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (`from package import module` names the module)."""
    modules = _modules()
    names = {m.removesuffix(".__init__") for m in modules}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("destination_stripe."):
                base = (node.module or "").removeprefix("destination_stripe.")
                deps |= {f"{base}.{a.name}" if f"{base}.{a.name}" in names else base for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name.removeprefix("destination_stripe.") for a in node.names
                         if a.name.startswith("destination_stripe.")}
        own = module.removesuffix(".__init__")
        graph[own] = {d for d in deps if d in names and d != own}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_modules_import_each_other_even_indirectly() -> None:
    assert _cycles(_module_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
