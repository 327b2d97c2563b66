#!/usr/bin/env python3
"""The workspace's layout, checked: one owner per room.

- No import cycle between the modules of any Rust crate (`crate::` paths;
  a folder module counts as one), of the JS layer and the Node package
  (relative `require`s and imports), or of the Python package (relative
  imports, at the top of a file or inside a function).
- No file is copied by the Makefile into another package's folder: each
  package owns its files.
- No source file over MAX_LINES lines, unless its first lines say it is
  generated (and it is then kept out of reviewers' way by that mark).

Prints one line per check and `N passed, M failed`; exits 1 on a failure.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 500
RUST_CRATES = ["core", "js-glue", "bindings-node", "bindings-python", "bindings-wasm", "cli", "bench"]
JS_PACKAGES = ["js", "bindings-node", "bindings-wasm"]
PY_PACKAGES = ["bindings-python/python/flagcore"]
PACKAGES = ["core", "js-glue", "js", "bindings-node", "bindings-python", "bindings-wasm", "cli", "bench", "examples", "tests"]
SOURCES = re.compile(r"\.(rs|js|mjs|cjs|py|ts)$")
GENERATED = re.compile(r"generated", re.IGNORECASE)


def tracked():
    import subprocess
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).is_file()]


def cycles(graph):
    """The nodes in a cycle, or importing one: what is left when nodes whose
    imports are all peeled off are peeled off, again and again."""
    peeled = set()
    while True:
        layer = {n for n, deps in graph.items() if n not in peeled and all(d in peeled or d not in graph for d in deps)}
        if not layer:
            break
        peeled |= layer
    return {n: sorted(d for d in graph[n] if d not in peeled and d in graph) for n in graph if n not in peeled}


def without_tests_and_comments(text):
    text = text.split("#[cfg(test)]")[0]
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def rust_graph(crate):
    src = ROOT / crate / "src"
    if not (src / "lib.rs").exists() and not (src / "main.rs").exists():
        raise SystemExit(f"{crate}/src has neither lib.rs nor main.rs: update RUST_CRATES in {__file__}")
    graph = {}
    for entry in sorted(src.iterdir()):
        if entry.is_dir():
            name, files = entry.name, sorted(entry.rglob("*.rs"))
        elif entry.suffix == ".rs" and entry.stem not in ("lib", "main"):
            name, files = entry.stem, [entry]
        else:
            continue
        names = set()
        for file in files:
            if file.name == "tests.rs":
                continue
            for module in re.findall(r"\bcrate::([a-z_][a-z0-9_]*)", without_tests_and_comments(file.read_text())):
                if module != name:
                    names.add(module)
        graph[name] = names
    return graph


def js_graph(folder):
    folder = ROOT / folder
    graph = {}
    for file in sorted(folder.glob("*.*js")):
        text = file.read_text()
        names = set()
        for target in re.findall(r"""(?:require\(|from\s+|import\(|import\s+)['"](\.{1,2}/[^'"]+)['"]""", text):
            resolved = (file.parent / target).resolve()
            if resolved.parent == folder.resolve():
                names.add(resolved.name if resolved.suffix else resolved.name + ".js")
        graph[file.name] = names - {file.name}
    return graph


def py_graph(folder):
    folder = ROOT / folder
    graph = {}
    for file in sorted(folder.glob("*.py")):
        names = set()
        for module in re.findall(r"^\s*from\s+\.([A-Za-z_][A-Za-z0-9_]*)\s+import", file.read_text(), re.MULTILINE):
            names.add(module)
        for module in re.findall(r"^\s*from\s+\.\s+import\s+([A-Za-z_][A-Za-z0-9_]*)", file.read_text(), re.MULTILINE):
            names.add(module)
        graph[file.stem] = names - {file.stem}
    return graph


def main():
    passed, failed = 0, 0

    def report(ok, line):
        nonlocal passed, failed
        print(("ok   " if ok else "FAIL ") + line)
        if ok:
            passed += 1
        else:
            failed += 1

    graphs = [(f"rust crate {c}", rust_graph(c)) for c in RUST_CRATES]
    graphs += [(f"js {f}", js_graph(f)) for f in JS_PACKAGES]
    graphs += [(f"python {f}", py_graph(f)) for f in PY_PACKAGES]
    for name, graph in graphs:
        found = cycles(graph)
        if not graph and not name.startswith("rust"):
            report(False, f"{name}: found no modules; the check reads nothing")
            continue
        detail = "; ".join(f"{n} -> {', '.join(d)}" for n, d in found.items())
        report(not found, f"{name}: {len(graph)} modules, no import cycle" if not found else f"{name}: import cycle: {detail}")

    copies = []
    makefile = (ROOT / "Makefile").read_text()
    for variable, folder in re.findall(r"^([A-Z_]+_DIR)\s*:?=\s*(\S+)\s*$", makefile, re.MULTILINE):
        makefile = makefile.replace(f"$({variable})", folder)
    for number, line in enumerate(makefile.splitlines(), 1):
        match = re.search(r"\bcp\s+(?:-\w+\s+)*(\S+)\s+(\S+)", line)
        if not match:
            continue
        source, target = match.groups()
        owner = lambda path: next((p for p in PACKAGES if path.lstrip("./").startswith(p + "/")), None)
        if owner(source) and owner(target) and owner(source) != owner(target):
            copies.append(f"Makefile:{number}: {line.strip()}")
    report(not copies, "the Makefile copies no file into another package" if not copies
           else "the Makefile copies into another package: " + "; ".join(copies))

    long = []
    for file in tracked():
        if not SOURCES.search(file.name) or "node_modules" in file.parts or file.parts[len(ROOT.parts)] in ("dist", "target"):
            continue
        lines = file.read_text(errors="replace").count("\n")
        if lines > MAX_LINES and not GENERATED.search("\n".join(file.read_text(errors="replace").splitlines()[:3])):
            long.append(f"{file.relative_to(ROOT)} ({lines})")
    report(not long, f"no source file over {MAX_LINES} lines" if not long
           else f"source files over {MAX_LINES} lines (split them by job): " + ", ".join(sorted(long)))

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
