"""Repository policy text as ECR stores and returns it (spec §2.6).

ECR does not keep the text a caller sends: it parses the policy and writes it back out in its own
layout, and Set, Get and Delete all answer with that text. What the recordings show (cloud-custodian
``tests/data/placebo/test_ecr_*/api.ecr.*RepositoryPolicy_*.json``, AWS CLI examples
``set-/get-/delete-repository-policy``): two-space indentation per level of object nesting (arrays
add none), ``"Key" : value``, arrays written on one line as ``[ a, b ]`` (so ``[ {`` ... ``}, {`` ...
``} ]``), keys in ECR's order (``Version``, ``Id``, ``Statement``; in a statement ``Sid``, ``Effect``,
``Principal``, ``Action``), a one-element ``Action`` list written as its string, and a policy
without ``Version`` returned with ``"2008-10-17"``. The order past ``Action`` (``Resource``,
``Condition``, the ``Not*`` forms), collapsing of one-element ``Resource`` and principal lists,
and writing a lone statement object as a one-element list are inferred from the same model, not
recorded.
"""

from __future__ import annotations

import json
import re
from typing import Any

DEFAULT_VERSION = "2008-10-17"

_DOCUMENT_ORDER = ("Version", "Id", "Statement")
_STATEMENT_ORDER = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
# Statement members whose one-element lists ECR writes as the bare string.
_COLLAPSED = frozenset({"Action", "NotAction", "Resource", "NotResource"})
_PRINCIPALS = frozenset({"Principal", "NotPrincipal"})
# ECR's writer escapes control characters with upper-case hex digits (\u001F), Python lower-case.
_LOWER_HEX_ESCAPE = re.compile(r"\\u00([0-9a-f]{2})")
# A lone surrogate (from a "\uD800" escape in the policy sent) cannot be written as UTF-8: escaped.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _ordered(obj: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    """``obj`` with the keys of ``order`` first, in that order, and any others after, as given."""
    known = {key: obj[key] for key in order if key in obj}
    return known | {key: value for key, value in obj.items() if key not in known}


def _collapsed(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _statement(statement: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in _ordered(statement, _STATEMENT_ORDER).items():
        if key in _COLLAPSED:
            value = _collapsed(value)
        elif key in _PRINCIPALS and isinstance(value, dict):
            value = {scheme: _collapsed(ids) for scheme, ids in value.items()}
        out[key] = value
    return out


def _canonical_document(doc: dict[str, Any]) -> dict[str, Any]:
    """The policy document as ECR models it: default Version, statements as a list, keys in
    ECR's order."""
    doc = {"Version": DEFAULT_VERSION} | doc
    statements = doc["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    doc["Statement"] = [_statement(s) for s in statements]
    return _ordered(doc, _DOCUMENT_ORDER)


def _string(text: str) -> str:
    written = _LOWER_HEX_ESCAPE.sub(
        lambda m: "\\u00" + m.group(1).upper(), json.dumps(text, ensure_ascii=False)
    )
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04X}", written)


def _render(value: Any, depth: int) -> str:
    if isinstance(value, dict):
        if not value:
            return "{ }"
        inner = "\n" + "  " * (depth + 1)
        entries = (f"{_string(k)} : {_render(v, depth + 1)}" for k, v in value.items())
        return "{" + inner + ("," + inner).join(entries) + "\n" + "  " * depth + "}"
    if isinstance(value, list):
        # Arrays stay on one line and do not deepen the indentation of the objects inside them.
        return "[ " + ", ".join(_render(v, depth) for v in value) + " ]" if value else "[ ]"
    if isinstance(value, str):
        return _string(value)
    return json.dumps(value)


def ecr_policy_text(doc: dict[str, Any]) -> str:
    """``doc`` (a parsed, valid resource policy) written out as ECR returns it."""
    return _render(_canonical_document(doc), 0)
