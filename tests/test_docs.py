"""The documentation runs and is complete.

- every ```python block of README.md and docs/*.md runs: each page's blocks in order, in one
  namespace, in a temporary working directory (failures name the page and the block number);
- ``mkdocs build --strict`` succeeds (skipped when mkdocs is not installed) and every page of
  docs/ is in the nav;
- docs/api.md: every name it lists exists, and every public name of the documented modules (their
  ``__all__``, or else their public module-level functions and classes) and every command-line
  command and option appears in it.
"""
from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md"] + sorted(DOCS.glob("*.md"))

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")


def code_blocks(text: str):
    """``[(language, first line number, source)]`` of the fenced blocks of a Markdown text."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        ticks, indent, lang = m["ticks"], m["indent"], (m["info"].split() or [""])[0].lower()
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not (lines[i].strip().startswith(ticks) and lines[i].strip().strip(ticks[0]) == ""):
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        blocks.append((lang, start + 1, "\n".join(body) + "\n"))
        i += 1
    return blocks


def python_blocks(page: Path):
    return [(line, src) for lang, line, src in code_blocks(page.read_text(encoding="utf-8"))
            if lang in ("python", "py", "python3")]


def test_block_extraction():
    text = "x\n```python\na = 1\n```\n\n```text\nnot run\n```\n  ```py\n  b = a + 1\n  ```\n"
    assert [(lang, src) for lang, _, src in code_blocks(text)] == [
        ("python", "a = 1\n"), ("text", "not run\n"), ("py", "b = a + 1\n")]


def _example_files(folder: Path) -> None:
    """The files the pages' examples read as "your own data": ``spy.csv`` (daily prices) and
    ``rv.csv`` (daily realized variance), here the embedded S&P 500 files unpacked."""
    import gzip

    data = ROOT / "tinygrad_trade" / "datasets"
    for name, src in (("spy.csv", "sp500_daily_1999_2018.csv.gz"), ("rv.csv", "sp500_rv5min_1997_2013.csv.gz")):
        (folder / name).write_bytes(gzip.decompress((data / src).read_bytes()))


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_code_blocks_run(page, tmp_path, monkeypatch, capsys):
    blocks = python_blocks(page)
    if not blocks:
        pytest.skip(f"{page.name} has no python blocks")
    _example_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setattr(sys, "argv", [page.name])
    namespace = {"__name__": "__main__"}
    t0 = time.perf_counter()
    for k, (line, src) in enumerate(blocks, 1):
        try:
            code = compile(src, f"{page.name}, block {k} (line {line})", "exec")
            exec(code, namespace)
        except BaseException as exc:  # noqa: BLE001 - report any failure, SystemExit included
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-6:])
            pytest.fail(f"{page.name}, python block {k} (line {line}) failed: "
                        f"{type(exc).__name__}: {exc}\n{tb}", pytrace=False)
    secs = time.perf_counter() - t0
    with capsys.disabled():
        print(f"\n[docs] {page.name}: {len(blocks)} python block(s) in {secs:.1f} s", end="")


# ------------------------------------------------------------------------------------ mkdocs
def _nav_files(nav):
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [f for v in nav.values() for f in _nav_files(v)]
    if isinstance(nav, list):
        return [f for v in nav for f in _nav_files(v)]
    return []


def _mkdocs_nav():
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    try:
        import yaml
        return _nav_files(yaml.safe_load(text).get("nav", []))
    except ImportError:  # pragma: no cover - mkdocs brings PyYAML
        return re.findall(r":\s*([\w./-]+\.md)\s*$", text, flags=re.M)


def test_every_page_in_nav():
    nav = set(_mkdocs_nav())
    pages = {p.name for p in DOCS.glob("*.md")}
    assert pages - nav == set(), f"docs pages missing from mkdocs.yml nav: {sorted(pages - nav)}"
    assert nav - pages == set(), f"mkdocs.yml nav lists missing pages: {sorted(nav - pages)}"


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                           "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    assert (tmp_path / "site" / "index.html").exists()


def test_readme_links_to_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\((docs/[^)#\s]+)", readme):
        assert (ROOT / target).exists(), f"README links to a missing file: {target}"


# ------------------------------------------------------------------------------------ API page
API = DOCS / "api.md"

# The modules the reference covers. Their public names must all be in the page.
MODULES = [
    "tinygrad_trade", "tinygrad_trade.graph", "tinygrad_trade.gradcheck", "tinygrad_trade.testing",
    "tinygrad_trade.testing.strategies", "tinygrad_trade.log", "tinygrad_trade.viz",
    "tinygrad_trade.expr", "tinygrad_trade.nn", "tinygrad_trade.nn.scalar", "tinygrad_trade.nn.losses",
    "tinygrad_trade.nn.init", "tinygrad_trade.optim",
    # the volatility product, by layer (docs/architecture.md)
    "tinygrad_trade.vol.data", "tinygrad_trade.vol.data.assets",
    "tinygrad_trade.vol.features", "tinygrad_trade.vol.features.dataset",
    "tinygrad_trade.vol.models.base", "tinygrad_trade.vol.models.results", "tinygrad_trade.vol.models",
    "tinygrad_trade.vol.models.ewma", "tinygrad_trade.vol.models.har", "tinygrad_trade.vol.models.garch",
    "tinygrad_trade.vol.evaluation", "tinygrad_trade.vol.evaluation.backtest", "tinygrad_trade.vol.evaluation.comparison",
    "tinygrad_trade.vol.evaluation.risk",
    "tinygrad_trade.vol.runs.walkforward", "tinygrad_trade.vol.runs.cluster", "tinygrad_trade.vol.runs.sweep",
    "tinygrad_trade.vol.runs.universe", "tinygrad_trade.vol.runs.persistence",
    "tinygrad_trade.vol.report", "tinygrad_trade.vol.report.universe", "tinygrad_trade.vol.report.risk",
    "tinygrad_trade.vol.jobs.forecast", "tinygrad_trade.vol.jobs.demo", "tinygrad_trade.vol.jobs.predict",
]
# Documented once they exist (being written alongside the docs).
OPTIONAL_MODULES = ["tinygrad_trade.vol.models.neural"]

SECTION = re.compile(r"^#{2,3} `(tinygrad_trade[\w.]*)`", re.M)
ENTRY = re.compile(r"^[-*] `([A-Za-z_][\w.]*)", re.M)
TOKEN = re.compile(r"`([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\([^`]*\))?`")


def api_sections() -> dict:
    """``{module: section text}`` for every ``## `module` `` heading of docs/api.md."""
    text = API.read_text(encoding="utf-8")
    heads = list(SECTION.finditer(text))
    out = {}
    for h, nxt in zip(heads, heads[1:] + [None]):
        end = nxt.start() if nxt else len(text)
        # a section ends at the next heading of the same or a higher level
        level = len(text[h.start():].split(" ", 1)[0])
        m = re.compile(r"^#{1,%d} " % level, re.M).search(text, h.end(), end)
        out[h.group(1)] = text[h.end():m.start() if m else end]
    return out


def public_names(mod) -> list:
    names = getattr(mod, "__all__", None)
    if names is not None:
        return list(names)
    return [n for n, o in vars(mod).items()
            if not n.startswith("_") and (inspect.isfunction(o) or inspect.isclass(o))
            and getattr(o, "__module__", None) == mod.__name__]


def _resolve(mod, dotted: str):
    obj = mod
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def test_api_names_exist():
    sections = api_sections()
    assert sections, "docs/api.md has no module sections"
    missing = []
    for modname, body in sections.items():
        if modname in OPTIONAL_MODULES and not _module_available(modname):
            continue
        try:
            mod = importlib.import_module(modname)
        except ImportError as exc:
            missing.append(f"{modname} (cannot import: {exc})")
            continue
        names = set(ENTRY.findall(body))   # the first name of every entry must exist
        # ... and so must every `Name.member` / `name(...)` whose first part is a name of the module
        names |= {n for n in TOKEN.findall(body) if hasattr(mod, n.split(".")[0])}
        for name in sorted(names):
            try:
                _resolve(mod, name)
            except AttributeError:
                missing.append(f"{modname}.{name}")
    assert not missing, "docs/api.md lists names that do not exist: " + ", ".join(missing)


def _module_available(name):
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        return False


def test_api_covers_public_names():
    sections = api_sections()
    modules = MODULES + [m for m in OPTIONAL_MODULES if _module_available(m)]
    absent = [m for m in modules if m not in sections]
    assert not absent, f"docs/api.md has no section for: {absent}"
    undocumented = []
    for modname in modules:
        body = sections[modname]
        for name in public_names(importlib.import_module(modname)):
            if not re.search(r"`%s\b" % re.escape(name), body):
                undocumented.append(f"{modname}.{name}")
    assert not undocumented, "public names missing from docs/api.md: " + ", ".join(undocumented)


def test_api_covers_cli():
    import argparse

    from tinygrad_trade.cli import build_parser

    text = API.read_text(encoding="utf-8")
    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for command, sub in subs.choices.items():
        if f"tinygrad-trade {command}" not in text:
            missing.append(f"tinygrad-trade {command}")
        for action in sub._actions:
            for opt in action.option_strings:
                if opt.startswith("--") and opt != "--help" and f"`{opt}" not in text:
                    missing.append(f"{command} {opt}")
    assert not missing, "command-line commands/options missing from docs/api.md: " + ", ".join(missing)
