"""The package reads like its map (ARCHITECTURE.md): every module is on the map, and no two modules import
each other, directly or round a loop (imports inside functions count)."""
import ast
import re

from conftest import ROOT

PACKAGE = ROOT / "bookgen"


def imports() -> dict:
    graph = {}
    for path in PACKAGE.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bookgen."):
                found.add(node.module.split(".")[1])
        graph[path.stem] = {m for m in found if (PACKAGE / f"{m}.py").is_file() and m != path.stem}
    return graph


def test_no_import_cycles():
    graph = imports()
    cycles = []

    def visit(module, path):
        for dep in sorted(graph[module]):
            if dep == path[0]:
                cycles.append(" -> ".join(path + [dep]))
            elif dep not in path and dep > path[0]:  # each cycle found once, from its smallest module
                visit(dep, path + [dep])
    for module in sorted(graph):
        visit(module, [module])
    assert cycles == []


def test_every_module_is_on_the_map():
    mapped = set(re.findall(r"([a-z0-9_]+)\.py", (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")))
    missing = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in mapped and p.stem not in ("__init__", "__main__"))
    assert missing == []
