"""Hypothesis strategies for ECR requests, built from botocore's input shapes.

``requests(shape, pools)`` draws requests the model allows (required members, min/max, enums and
patterns respected where that is feasible); ``invalid_requests(shape, pools)`` draws a valid request
and breaks it in one place (a missing required member, a value out of bounds, outside its enum or
pattern, or of the wrong type), for clients with ``parameter_validation=False``.

``pools`` maps a shape name (``RepositoryName``, ``ImageTag``...) to values that exist in the fake,
so that many requests hit existing state instead of answering "not found" every time.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape
from hypothesis import strategies as st

Pools = Mapping[str, Sequence[Any]]

#: Longest string / list / blob drawn for a shape whose maximum is larger (or absent).
MAX_TEXT = 40
MAX_ITEMS = 4
MAX_INT = 2**31 - 1

_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "-_./:@ ", max_size=MAX_TEXT)


@functools.cache
def _fullmatch(regex: str) -> re.Pattern[str] | None:
    try:
        return re.compile(regex)
    except re.error:
        return None


def bounded_regex(regex: str, most: int = 3) -> str:
    """``regex`` with its unbounded ``*`` and ``+`` capped at ``most`` repetitions.

    The strings it matches are a subset of the original's; hypothesis draws them quickly, where the
    model's nested repetitions (``RepositoryName``...) would draw long strings only to filter them.
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(regex):
        char = regex[i]
        if char == "\\":
            out.append(regex[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if regex[i + 1 : i + 2] == "]":  # a literal ] first in a class
                out.append("[]")
                i += 2
                continue
        elif char == "*":
            char = f"{{0,{most}}}"
        elif char == "+":
            char = f"{{1,{most}}}"
        out.append(char)
        i += 1
    return "".join(out)


def _bounded(shape: Shape) -> tuple[int, int | None]:
    meta = shape.metadata
    return int(meta.get("min", 0)), meta.get("max")


def _string(shape: Shape, pools: Pools) -> st.SearchStrategy[str]:
    meta = shape.metadata
    if "enum" in meta:
        return st.sampled_from(list(meta["enum"]))
    low, high = _bounded(shape)
    cap = max(low, MAX_TEXT) if high is None else min(high, max(low, MAX_TEXT))
    regex = meta.get("pattern")
    compiled = _fullmatch(regex) if regex else None
    generic: st.SearchStrategy[str]
    if regex and compiled is not None:
        try:
            generic = st.from_regex(bounded_regex(regex), fullmatch=True).filter(
                lambda s: low <= len(s) <= cap and bool(compiled.fullmatch(s))
            )
        except Exception:  # a pattern hypothesis cannot generate from: plain text, filtered
            generic = st.text(min_size=low, max_size=cap).filter(lambda s: bool(compiled.fullmatch(s)))
    else:
        generic = st.text(min_size=low, max_size=cap) if low > 0 else _TEXT.filter(lambda s: len(s) <= cap)
    pool = [v for v in pools.get(shape.name, ()) if isinstance(v, str) and _string_ok(shape, v)]
    # Mostly values that exist, so that requests reach the operation's semantics.
    return (
        st.one_of(st.sampled_from(pool), st.sampled_from(pool), st.sampled_from(pool), generic)
        if pool
        else generic
    )


def _string_ok(shape: Shape, value: str) -> bool:
    low, high = _bounded(shape)
    regex = shape.metadata.get("pattern")
    compiled = _fullmatch(regex) if regex else None
    return low <= len(value) <= (high or len(value)) and (compiled is None or bool(compiled.fullmatch(value)))


def requests(shape: Shape, pools: Pools, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of ``shape`` that the model allows."""
    if isinstance(shape, StructureShape):
        required = set(shape.required_members)
        if depth > 4:  # recursive shapes: stop at the required members
            return st.fixed_dictionaries({n: requests(shape.members[n], pools, depth + 1) for n in required})
        return st.fixed_dictionaries(
            {n: requests(m, pools, depth + 1) for n, m in shape.members.items() if n in required},
            optional={
                n: requests(m, pools, depth + 1) for n, m in shape.members.items() if n not in required
            },
        )
    if isinstance(shape, ListShape):
        low, high = _bounded(shape)
        cap = max(low, MAX_ITEMS) if high is None else min(high, max(low, MAX_ITEMS))
        return st.lists(requests(shape.member, pools, depth + 1), min_size=low, max_size=cap)
    if isinstance(shape, MapShape):
        low, high = _bounded(shape)
        cap = max(low, MAX_ITEMS) if high is None else min(high, max(low, MAX_ITEMS))
        return st.dictionaries(
            requests(shape.key, pools, depth + 1),
            requests(shape.value, pools, depth + 1),
            min_size=low,
            max_size=cap,
        )
    kind = shape.type_name
    if kind == "string":
        return _string(shape, pools)
    if kind in ("integer", "long"):
        low, high = _bounded(shape)
        pool = [v for v in pools.get(shape.name, ()) if isinstance(v, int)]
        ints = st.integers(low, MAX_INT if high is None else high)
        return st.sampled_from(pool) | ints if pool else ints
    if kind == "boolean":
        return st.booleans()
    if kind == "blob":
        low, high = _bounded(shape)
        cap = max(low, MAX_TEXT) if high is None else min(high, max(low, MAX_TEXT))
        return st.binary(min_size=low, max_size=cap)
    if kind == "timestamp":
        return st.integers(0, 4_000_000_000)
    if kind in ("float", "double"):
        return st.floats(0, 1e9, allow_nan=False)
    raise NotImplementedError(kind)  # pragma: no cover - the ECR model has no other types


def _wrong_type(shape: Shape) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    others: list[Any] = [
        v
        for k, v in (
            ("string", "not-a-number"),
            ("integer", 7),
            ("boolean", True),
            ("list", ["x"]),
            ("structure", {"x": 1}),
        )
        if k != kind and not (kind in ("long", "integer") and k == "integer")
    ]
    if kind == "map":
        others.remove({"x": 1})
    return st.sampled_from(others)


def bad_values(shape: Shape) -> st.SearchStrategy[Any]:
    """Values of the wrong type, or of the right type that break one of ``shape``'s constraints."""
    choices: list[st.SearchStrategy[Any]] = [_wrong_type(shape)]
    meta = shape.metadata
    kind = shape.type_name
    low, high = _bounded(shape)
    if kind == "string":
        if "enum" in meta:
            choices.append(st.just("NOT_AN_ENUM_VALUE"))
        if low > 0:
            choices.append(st.just("a" * (low - 1)))
        if high is not None and high <= 20000:
            choices.append(st.just("a" * (high + 1)))
        if "pattern" in meta:
            choices.append(st.sampled_from(["!!NOT MATCHING!!", "UPPER/Case", " ", "a" * 5 + "\u00e9"]))
    elif kind in ("integer", "long"):
        choices.append(st.just(low - 1) if "min" in meta else st.just(-1))
        if high is not None:
            choices.append(st.just(high + 1))
    elif kind == "list":
        if low > 0:
            choices.append(st.just([]))
        if high is not None and high <= 200:
            member = shape.member  # type: ignore[attr-defined]
            filler = "x" if member.type_name == "string" else {} if member.type_name == "structure" else 1
            choices.append(st.just([filler] * (high + 1)))
    return st.one_of(choices)


def _paths(shape: StructureShape, depth: int = 0) -> list[tuple[tuple[str, ...], Shape]]:
    """(path, shape) of every member that can be broken, nested structures included."""
    out: list[tuple[tuple[str, ...], Shape]] = []
    for name, member in shape.members.items():
        out.append(((name,), member))
        if isinstance(member, StructureShape) and depth < 2:
            out.extend(((name, *p), s) for p, s in _paths(member, depth + 1))
    return out


def invalid_requests(shape: StructureShape, pools: Pools) -> st.SearchStrategy[dict[str, Any]]:
    """A valid request broken in one place."""
    paths = _paths(shape)

    @st.composite
    def broken(draw: st.DrawFn) -> dict[str, Any]:
        request = draw(requests(shape, pools))
        removable = list(shape.required_members)
        if removable and draw(st.booleans()):
            request.pop(draw(st.sampled_from(removable)), None)
            return dict(request)
        if not paths:
            return dict(request)
        path, member = draw(st.sampled_from(paths))
        target = request
        for i, part in enumerate(path[:-1]):
            if not isinstance(target.get(part), dict):
                parent_shape = shape
                for p in path[: i + 1]:
                    parent_shape = parent_shape.members[p]  # type: ignore[assignment]
                target[part] = draw(requests(parent_shape, pools))
            target = target[part]
        target[path[-1]] = draw(bad_values(member))
        return dict(request)

    return broken()


#: A value that breaks one constraint of the model: (member path, the constraint, the value);
#: the value is None for a required member left out.
Violation = tuple[tuple[str, ...], str, Any]

_NOT_MATCHING = ["!!NOT MATCHING!!", "UPPER/Case", " ", "a\u00e9", ""]


def _string_violations(shape: Shape) -> list[tuple[str, Any]]:
    meta = shape.metadata
    low, high = _bounded(shape)
    out: list[tuple[str, Any]] = []
    if "enum" in meta:
        out.append(("enum", "NOT_AN_ENUM_VALUE"))
    if low > 0:
        out.append(("min length", "a" * (low - 1)))
    if high is not None and high <= 20000:
        out.append(("max length", "a" * (high + 1)))
    compiled = _fullmatch(meta["pattern"]) if "pattern" in meta else None
    if compiled is not None:
        # A value within the length bounds, so that only the pattern is broken.
        for value in _NOT_MATCHING:
            if low <= len(value) <= (high or len(value)) and not compiled.fullmatch(value):
                out.append(("pattern", value))
                break
    return out


def violations(shape: StructureShape) -> list[Violation]:
    """Every single-constraint break of ``shape``'s members (nested structures included) that the
    model states: missing required members, enum, min/max length or value, pattern."""
    out: list[Violation] = [((name,), "required", None) for name in shape.required_members]
    for path, member in _paths(shape):
        kind = member.type_name
        low, high = _bounded(member)
        if kind == "string":
            out.extend((path, what, value) for what, value in _string_violations(member))
        elif kind in ("integer", "long"):
            if "min" in member.metadata:
                out.append((path, "min value", low - 1))
            if high is not None:
                out.append((path, "max value", high + 1))
        elif kind == "list":
            if low > 0:
                out.append((path, "min items", []))
            if high is not None and high <= 1000:
                out.append((path, "max items", high + 1))  # that many copies of a valid item
    return out
