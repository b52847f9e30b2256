"""A standing mutation run for pytest-ecr (issue #19 item 3).

``python tools/mutants.py --sample N --seed S [--paths DIR ...]`` picks N mutation sites at random
(seeded) in the package, runs the tests that cover each mutated line, and prints
``mutation score: K of N killed`` and the survivors.

Structure:

* **Sites** come from the package's ``ast``: comparison operators (``<``/``<=``, ``==``/``!=``,
  ``is``/``is not``, ``in``/``not in``), ``and``/``or``, a ``not`` removed, ``all``/``any``,
  integer constants +1, ``True``/``False``, slice bounds +1, ``return x`` to ``return None``.
  A mutant is a replacement of one byte range of the file (the rest is untouched). Each site has a
  stable key, ``file::function: description``, that names no line number.
* **Equivalent mutants** (no test can kill them) are listed with why in
  ``tools/equivalent_mutants.txt`` and never sampled; an entry that matches no site is reported.
* **Coverage** maps lines to tests: the suite runs once under coverage.py with one context per test
  (a small pytest plugin written beside the copy), in a temporary copy of the project.
* **Mutants** run in temporary copies of the project (``--jobs`` of them), never in the working
  tree: an interrupted run leaves nothing behind. Each mutant runs the tests covering its lines,
  fastest first, with ``-x -q -p no:randomly`` and a timeout; a failing test kills it, a timeout
  counts as killed (as mutmut does) and is reported apart; a site no test covers is a survivor.

Exit status: 0, or 1 when the score is below ``--fail-under`` (percent), 2 on a usage or setup error.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import dataclasses
import hashlib
import io
import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "tools" / "equivalent_mutants.txt"

#: What a copy of the project leaves out: environments, caches, build output.
_IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".tox",
    ".clients",
    "__pycache__",
    "*.egg-info",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "_build",
    "build",
    "dist",
    ".coverage*",
)

_COMPARE_SWAPS = {
    "<": "<=",
    "<=": "<",
    ">": ">=",
    ">=": ">",
    "==": "!=",
    "!=": "==",
    "is": "is not",
    "is not": "is",
    "in": "not in",
    "not in": "in",
}
_COMPARE_WORDS = {"<", "<=", ">", ">=", "==", "!=", "is", "not", "in"}


class ToolError(Exception):
    """A usage or setup problem (exit status 2), never a mutant's outcome."""


@dataclasses.dataclass(frozen=True)
class Site:
    """One mutation: replace ``source[start:end]`` (character offsets) with ``replacement``."""

    path: str  # relative to the project root, with forward slashes
    qualname: str  # enclosing function or class, "<module>" at top level
    description: str
    line: int
    end_line: int
    start: int
    end: int
    replacement: str
    runtime: bool  # False: runs when the module is imported (module or class body, defaults)
    occurrence: int = 0  # among sites with the same path, qualname and description

    @property
    def key(self) -> str:
        suffix = f" #{self.occurrence + 1}" if self.occurrence else ""
        return f"{self.path}::{self.qualname}: {self.description}{suffix}"


# ---------------------------------------------------------------------------------------------- sites


def _snippet(node: ast.AST, limit: int = 70) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _SiteFinder(ast.NodeVisitor):
    """Walks one module and records its sites (see the module docstring for the kinds)."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.source = source
        self.sites: list[Site] = []
        lines = source.splitlines(keepends=True)
        self._line_starts = [0]
        for line in lines:
            self._line_starts.append(self._line_starts[-1] + len(line))
        self._lines_bytes = [line.encode() for line in lines]
        self._tokens = [
            (self._char(tok.start[0], tok.start[1]), self._char(tok.end[0], tok.end[1]), tok.string)
            for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type in (tokenize.OP, tokenize.NAME)
        ]
        self._scope: list[str] = []
        self._in_function = False

    # positions -------------------------------------------------------------------------------
    def _char(self, line: int, column: int) -> int:
        return self._line_starts[line - 1] + column

    def _start(self, node: ast.expr) -> int:
        prefix = self._lines_bytes[node.lineno - 1][: node.col_offset]
        return self._line_starts[node.lineno - 1] + len(prefix.decode())

    def _end(self, node: ast.expr) -> int:
        assert node.end_lineno is not None
        assert node.end_col_offset is not None
        prefix = self._lines_bytes[node.end_lineno - 1][: node.end_col_offset]
        return self._line_starts[node.end_lineno - 1] + len(prefix.decode())

    def _tokens_between(self, start: int, end: int, words: set[str]) -> list[tuple[int, int, str]]:
        return [tok for tok in self._tokens if start <= tok[0] and tok[1] <= end and tok[2] in words]

    def _add(self, node: ast.expr, description: str, start: int, end: int, replacement: str) -> None:
        assert node.end_lineno is not None
        self.sites.append(
            Site(
                path=self.path,
                qualname=".".join(self._scope) or "<module>",
                description=description,
                line=node.lineno,
                end_line=node.end_lineno,
                start=start,
                end=end,
                replacement=replacement,
                runtime=self._in_function,
            )
        )

    # scopes and what is never mutated ------------------------------------------------------------
    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)  # evaluated when the module is imported
        self._scope.append(node.name)
        outer, self._in_function = self._in_function, True
        for statement in node.body:
            self.visit(statement)
        self._in_function = outer
        self._scope.pop()

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        outer, self._in_function = self._in_function, True
        self.visit(node.body)
        self._in_function = outer

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for child in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(child)
        self._scope.append(node.name)
        for statement in node.body:
            self.visit(statement)
        self._scope.pop()

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:  # the annotation is typing, not behaviour
            self.visit(node.value)

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            for statement in node.orelse:
                self.visit(statement)
            return
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return
        self.generic_visit(node)

    def visit_Assert(self, node: ast.Assert) -> None:
        return  # a weakened assertion is not a behaviour change a test can see

    def visit_Subscript(self, node: ast.Subscript) -> None:
        # Literal[...] and similar typing forms outside annotations (casts, aliases).
        value = node.value
        name = (
            value.id
            if isinstance(value, ast.Name)
            else value.attr
            if isinstance(value, ast.Attribute)
            else ""
        )
        if name in {"Literal", "Annotated", "Final", "ClassVar"}:
            return
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in {"cast", "TypeVar", "NewType"}:
            return
        if isinstance(func, ast.Name) and func.id in {"all", "any"}:
            other = "any" if func.id == "all" else "all"
            self._add(
                node,
                f"`{func.id}` to `{other}` in `{_snippet(node)}`",
                self._start(func),
                self._end(func),
                other,
            )
        self.generic_visit(node)

    # mutation kinds ----------------------------------------------------------------------------
    def visit_Compare(self, node: ast.Compare) -> None:
        left: ast.expr = node.left
        for right in node.comparators:
            ops = self._tokens_between(self._end(left), self._start(right), _COMPARE_WORDS)
            if ops:
                text = " ".join(tok[2] for tok in ops)
                swap = _COMPARE_SWAPS.get(text)
                if swap is not None:
                    self._add(
                        node, f"`{text}` to `{swap}` in `{_snippet(node)}`", ops[0][0], ops[-1][1], swap
                    )
            left = right
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        word = "and" if isinstance(node.op, ast.And) else "or"
        other = "or" if word == "and" else "and"
        for left, right in zip(node.values, node.values[1:], strict=False):
            for tok in self._tokens_between(self._end(left), self._start(right), {word}):
                self._add(node, f"`{word}` to `{other}` in `{_snippet(node)}`", tok[0], tok[1], other)
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):
            start = self._start(node)
            self._add(node, f"`not` removed in `{_snippet(node)}`", start, start + len("not"), "")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            self._add(node, f"`{value}` to `{not value}`", self._start(node), self._end(node), str(not value))
        elif isinstance(value, int):
            self._add(node, f"`{value}` to `{value + 1}`", self._start(node), self._end(node), str(value + 1))

    def visit_Slice(self, node: ast.Slice) -> None:
        for bound in (node.lower, node.upper):
            if bound is None or isinstance(bound, ast.Constant):
                continue  # constants already have their own +1 site
            if isinstance(bound, ast.UnaryOp) and isinstance(bound.operand, ast.Constant):
                continue
            text = self.source[self._start(bound) : self._end(bound)]
            self._add(
                bound,
                f"slice bound `{_snippet(bound)}` + 1",
                self._start(bound),
                self._end(bound),
                f"({text}) + 1",
            )
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        value = node.value
        # `return None` stays; `return True`/`False` has its constant flipped instead (to None it is
        # equivalent wherever the caller only tests truth).
        if value is not None and not (isinstance(value, ast.Constant) and value.value in (None, True, False)):
            self._add(
                value,
                f"`return {_snippet(value)}` to `return None`",
                self._start(value),
                self._end(value),
                "None",
            )
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant):
            return  # docstrings and bare literals
        self.generic_visit(node)


def mutate(source: str, site: Site) -> str:
    return source[: site.start] + site.replacement + source[site.end :]


def find_sites(root: Path, files: Iterable[Path]) -> list[Site]:
    """Every site of the given files, keys numbered where a description repeats in one scope."""
    sites: list[Site] = []
    for file in sorted(files):
        source = file.read_text(encoding="utf-8")
        tree = ast.parse(source)
        finder = _SiteFinder(file.relative_to(root).as_posix(), source)
        finder.visit(tree)
        seen: dict[tuple[str, str], int] = {}
        for site in sorted(finder.sites, key=lambda s: (s.start, s.end, s.description)):
            index = seen.get((site.qualname, site.description), 0)
            seen[(site.qualname, site.description)] = index + 1
            sites.append(dataclasses.replace(site, occurrence=index))
    return sites


def check_mutants(root: Path, sites: Iterable[Site]) -> None:
    """Every mutant parses and differs from the original tree (each kind is built to; this proves it)."""
    trees: dict[str, tuple[str, str]] = {}
    for site in sites:
        if site.path not in trees:
            source = (root / site.path).read_text(encoding="utf-8")
            trees[site.path] = (source, ast.dump(ast.parse(source)))
        source, original = trees[site.path]
        try:
            changed = ast.dump(ast.parse(mutate(source, site))) != original
        except SyntaxError as error:
            raise ToolError(f"the mutant {site.key} does not parse: {error}") from None
        if not changed:
            raise ToolError(f"the mutant {site.key} changes nothing")


def package_files(root: Path, paths: Sequence[str]) -> list[Path]:
    files: set[Path] = set()
    for name in paths:
        target = (root / name).resolve()
        if not target.exists():
            raise ToolError(f"--paths: {name} does not exist under {root}")
        files.update([target] if target.is_file() else target.rglob("*.py"))
    return sorted(files)


# ---------------------------------------------------------------------------------------- equivalents


def read_equivalents(path: Path) -> dict[str, str]:
    """Key -> why. A key line starts at column 0; its reason is the indented lines below it."""
    entries: dict[str, str] = {}
    key: str | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line[0].isspace():
            if key is None:
                raise ToolError(f"{path}:{number}: a reason with no site above it")
            entries[key] = (entries[key] + " " + line.strip()).strip()
            continue
        if key is not None and not entries[key]:
            raise ToolError(f"{path}: {key} has no reason (indented lines below it)")
        key = line.strip()
        if key in entries:
            raise ToolError(f"{path}:{number}: {key} is listed twice")
        entries[key] = ""
    if key is not None and not entries[key]:
        raise ToolError(f"{path}: {key} has no reason (indented lines below it)")
    return entries


# ------------------------------------------------------------------------------------------- coverage

_PLUGIN = '''
"""Written by tools/mutants.py: one coverage context per test, outcomes and durations."""
import json
import os
import coverage
import pytest

_COV = coverage.Coverage(
    data_file=os.environ["MUTANTS_DATA"], data_suffix=True, source=[os.environ["MUTANTS_SOURCE"]], config_file=False
)
_COV.start()
_RESULTS = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _COV.switch_context(item.nodeid)
    try:
        return (yield)
    finally:
        _COV.switch_context("")


def pytest_runtest_logreport(report):
    entry = _RESULTS.setdefault(report.nodeid, {"duration": 0.0, "failed": False})
    entry["duration"] += report.duration
    entry["failed"] = entry["failed"] or report.failed


def pytest_unconfigure(config):
    _COV.stop()
    _COV.save()
    import pytest_ecr_probe_target as target
    out = os.environ["MUTANTS_RESULTS"] + str(os.getpid()) + ".json"
    with open(out, "w") as stream:
        json.dump({"package": target.__file__, "results": _RESULTS}, stream)
'''


@dataclasses.dataclass
class CoverageMap:
    durations: dict[str, float]  # test function node id (parameters folded) -> seconds
    failed: list[str]  # tests that failed without any mutant: never used
    lines: dict[str, dict[int, list[str]]]  # file -> line -> test functions
    modules: dict[str, list[str]]  # file -> every test function that ran any of it

    def tests_for(self, site: Site) -> list[str]:
        file_lines = self.lines.get(site.path, {})
        tests: set[str] = set()
        for line in range(site.line, site.end_line + 1):
            tests.update(file_lines.get(line, ()))
        if not site.runtime or (
            not tests and any(line in file_lines for line in range(site.line, site.end_line + 1))
        ):
            tests.update(self.modules.get(site.path, ()))
        return sorted(tests, key=lambda t: (self.durations.get(t, 0.0), t))


def _function_id(nodeid: str) -> str:
    return re.sub(r"\[.*\]$", "", nodeid)


def _tree_hash(root: Path, package: str) -> str:
    digest = hashlib.sha256()
    for folder in (package, "tests"):
        for file in sorted((root / folder).rglob("*.py")):
            digest.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    for name in ("pyproject.toml", "tox.ini"):
        if (root / name).exists():
            digest.update((root / name).read_bytes())
    return digest.hexdigest()


def measure_coverage(copy: Path, package: str, jobs: int, test_args: Sequence[str]) -> CoverageMap:
    import coverage  # the test extra's; imported here so --list works without it

    work = Path(tempfile.mkdtemp(prefix="mutants-cov-"))
    try:
        plugin = work / "pytest_ecr_mutants_plugin.py"
        plugin.write_text(_PLUGIN.replace("pytest_ecr_probe_target", package), encoding="utf-8")
        env = _env(copy, extra=str(work))
        env["MUTANTS_DATA"] = str(work / "data")
        env["MUTANTS_SOURCE"] = str(copy / package)
        env["MUTANTS_RESULTS"] = str(work / "results-")
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "pytest_ecr_mutants_plugin",
        ]
        if jobs > 1:
            command += ["-n", str(jobs)]
        command += list(test_args)
        print(f"coverage: running the suite once ({' '.join(command[3:])})", flush=True)
        began = time.monotonic()
        proc = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, check=False)
        print(
            f"coverage: {proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.returncode} "
            f"in {time.monotonic() - began:.0f} s",
            flush=True,
        )
        results: dict[str, dict[str, float | bool]] = {}
        for out in work.glob("results-*.json"):
            report = json.loads(out.read_text())
            if not Path(report["package"]).resolve().is_relative_to(copy.resolve()):
                raise ToolError(f"the tests imported {report['package']}, not the copy in {copy}")
            results.update(report["results"])
        if not results:
            raise ToolError(f"the coverage run ran no test:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        combined = coverage.Coverage(data_file=str(work / "data"), config_file=False)
        combined.combine([str(work)], keep=True)
        data = combined.get_data()
        failed = sorted({_function_id(t) for t, r in results.items() if r["failed"]})
        durations: dict[str, float] = {}
        for nodeid, result in results.items():
            durations[_function_id(nodeid)] = durations.get(_function_id(nodeid), 0.0) + float(
                result["duration"]
            )
        lines: dict[str, dict[int, list[str]]] = {}
        modules: dict[str, list[str]] = {}
        for measured in data.measured_files():
            path = Path(measured).resolve().relative_to(copy.resolve()).as_posix()
            by_line: dict[int, set[str]] = {}
            for line, contexts in data.contexts_by_lineno(measured).items():
                tests = {_function_id(c) for c in contexts if c} - set(failed)
                by_line[line] = tests
            lines[path] = {line: sorted(tests) for line, tests in by_line.items()}
            modules[path] = sorted(set().union(*by_line.values())) if by_line else []
        return CoverageMap(durations, failed, lines, modules)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def load_or_measure(
    root: Path, copy: Path, package: str, jobs: int, test_args: Sequence[str], cache: Path | None
) -> CoverageMap:
    key = _tree_hash(root, package) + json.dumps(list(test_args))
    if cache is not None and cache.exists():
        stored = json.loads(cache.read_text())
        if stored.get("key") == key:
            print(f"coverage: reusing {cache} (package and tests unchanged)", flush=True)
            lines = {f: {int(n): t for n, t in by.items()} for f, by in stored["lines"].items()}
            return CoverageMap(stored["durations"], stored["failed"], lines, stored["modules"])
    result = measure_coverage(copy, package, jobs, test_args)
    if cache is not None:
        cache.write_text(json.dumps({"key": key, **dataclasses.asdict(result)}))
    return result


# -------------------------------------------------------------------------------------------- mutants


@dataclasses.dataclass(frozen=True)
class Outcome:
    site: Site
    status: str  # killed, timeout, survived, not covered, error
    tests: int
    seconds: float
    detail: str = ""

    @property
    def killed(self) -> bool:
        return self.status in ("killed", "timeout")


def _env(copy: Path, extra: str = "") -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a stale .pyc must never stand in for a mutant
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(copy), extra, env.get("PYTHONPATH", "")) if p)
    env.pop("PYTEST_ADDOPTS", None)
    return env


def run_mutant(copy: Path, site: Site, tests: list[str], timeout: float) -> Outcome:
    if not tests:
        return Outcome(site, "not covered", 0, 0.0)
    target = copy / site.path
    original = target.read_text(encoding="utf-8")
    target.write_text(mutate(original, site), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        *tests,
    ]
    began = time.monotonic()
    try:
        proc = subprocess.Popen(
            command,
            cwd=copy,
            env=_env(copy),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return Outcome(site, "timeout", len(tests), time.monotonic() - began, f"over {timeout:.0f} s")
    finally:
        target.write_text(original, encoding="utf-8")
    seconds = time.monotonic() - began
    last = output.strip().splitlines()[-1] if output.strip() else ""
    if proc.returncode == 0:
        return Outcome(site, "survived", len(tests), seconds, last)
    # 1: a test failed; 2: collection broke (the mutant breaks an import); 3: pytest's internal error;
    # 4 with a collection error: a test module's import-time code failed, so its node ids are "not found".
    broken_collection = proc.returncode == 4 and "ERROR collecting" in output
    if proc.returncode in (1, 2, 3) or broken_collection:
        failing = re.search(r"^(FAILED|ERROR) (\S+)", output, re.MULTILINE)
        return Outcome(site, "killed", len(tests), seconds, failing.group(2) if failing else last)
    return Outcome(site, "error", len(tests), seconds, f"pytest exit {proc.returncode}: {last}")


def run_all(
    root: Path, sites: list[Site], coverage_map: CoverageMap, copies: list[Path], factor: float
) -> Iterator[Outcome]:
    free: queue.Queue[Path] = queue.Queue()
    for copy in copies:
        free.put(copy)

    def one(site: Site) -> Outcome:
        tests = coverage_map.tests_for(site)
        timeout = 30.0 + factor * sum(coverage_map.durations.get(t, 1.0) for t in tests)
        copy = free.get()
        try:
            return run_mutant(copy, site, tests, timeout)
        finally:
            free.put(copy)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(copies)) as pool:
        yield from pool.map(one, sites)


# --------------------------------------------------------------------------------------------- report


def summary(outcomes: Sequence[Outcome]) -> list[str]:
    killed = [o for o in outcomes if o.killed]
    timeouts = [o for o in outcomes if o.status == "timeout"]
    others = [o for o in outcomes if not o.killed]
    percent = 100.0 * len(killed) / len(outcomes) if outcomes else 100.0
    lines = [
        f"mutation score: {len(killed)} of {len(outcomes)} killed ({percent:.1f} %)"
        f" [{len(killed) - len(timeouts)} by a failing test, {len(timeouts)} by timeout]"
    ]
    if others:
        lines.append(f"survivors ({len(others)}):")
        for o in others:
            where = f"{o.site.path}:{o.site.line}"
            lines.append(f"  {o.status:<11} {where}  {o.site.key}")
            if o.status == "survived":
                lines.append(f"              {o.tests} test function(s) passed with the mutant")
            elif o.detail:
                lines.append(f"              {o.detail}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=20, help="how many sites to mutate (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random sample (default 1)")
    parser.add_argument(
        "--paths", nargs="+", default=None, help="files or folders to mutate (default: the package)"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the project (default: this checkout)")
    parser.add_argument("--package", default="pytest_ecr", help="the package's folder under --root")
    parser.add_argument(
        "--equivalents", type=Path, default=None, help="default: tools/equivalent_mutants.txt"
    )
    parser.add_argument("--jobs", type=int, default=1, help="mutants (and coverage workers) run at once")
    parser.add_argument(
        "--timeout-factor", type=float, default=5.0, help="timeout: 30 s + factor x test time"
    )
    parser.add_argument("--fail-under", type=float, default=None, help="exit 1 below this score (percent)")
    parser.add_argument("--coverage-cache", type=Path, default=None, help="reuse the line-to-test map")
    parser.add_argument("--list", action="store_true", help="print the sampled sites and stop")
    parser.add_argument(
        "test_args", nargs="*", help="after --: arguments for the coverage run (default: the suite)"
    )
    args = parser.parse_args(argv)
    try:
        return _main(args)
    except ToolError as error:
        print(f"mutants: {error}", file=sys.stderr)
        return 2


def _main(args: argparse.Namespace) -> int:
    root: Path = args.root.resolve()
    if args.sample < 1 or args.jobs < 1:
        raise ToolError("--sample and --jobs must be at least 1")
    equivalents_path = args.equivalents or (root / "tools" / "equivalent_mutants.txt")
    equivalents = read_equivalents(equivalents_path) if equivalents_path.exists() else {}
    everything = find_sites(root, package_files(root, [args.package]))
    stale = sorted(set(equivalents) - {s.key for s in everything})
    for key in stale:
        print(f"warning: {equivalents_path.name} lists a site that no longer exists: {key}", flush=True)
    wanted = package_files(root, args.paths or [args.package])
    wanted_paths = {f.relative_to(root).as_posix() for f in wanted}
    candidates = [s for s in everything if s.path in wanted_paths and s.key not in equivalents]
    if args.sample > len(candidates):
        raise ToolError(
            f"--sample {args.sample}: only {len(candidates)} sites in {', '.join(args.paths or [args.package])}"
        )
    sample = sorted(random.Random(args.seed).sample(candidates, args.sample), key=lambda s: (s.path, s.start))
    check_mutants(root, sample)
    skipped = sum(1 for s in everything if s.path in wanted_paths and s.key in equivalents)
    print(
        f"sites: {len(candidates)} in {len(wanted_paths)} files ({skipped} listed equivalent, skipped);"
        f" sample {args.sample}, seed {args.seed}",
        flush=True,
    )
    if args.list:
        for site in sample:
            print(f"  {site.path}:{site.line}  {site.key}")
        return 0
    began = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="mutants-"))
    try:
        copies = []
        for index in range(args.jobs):
            copy = base / f"copy{index}"
            shutil.copytree(root, copy, ignore=_IGNORED)
            copies.append(copy)
        coverage_map = load_or_measure(
            root, copies[0], args.package, args.jobs, args.test_args, args.coverage_cache
        )
        if coverage_map.failed:
            print(
                f"coverage: {len(coverage_map.failed)} test(s) failed unmutated and are not used: "
                f"{', '.join(coverage_map.failed[:10])}",
                flush=True,
            )
        outcomes = []
        for number, outcome in enumerate(run_all(root, sample, coverage_map, copies, args.timeout_factor), 1):
            outcomes.append(outcome)
            print(
                f"[{number}/{len(sample)}] {outcome.status:<11} {outcome.seconds:5.1f} s"
                f"  {outcome.site.path}:{outcome.site.line}  {outcome.site.key}",
                flush=True,
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for line in summary(outcomes):
        print(line)
    print(f"mutation run: {time.monotonic() - began:.0f} s")
    score = 100.0 * sum(o.killed for o in outcomes) / len(outcomes)
    if args.fail_under is not None and score < args.fail_under:
        print(f"mutants: score {score:.1f} % is below --fail-under {args.fail_under:g} %", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
