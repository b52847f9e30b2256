"""Check moto's ECR suite run (JUnit XML) against the classified failure list.

Usage: moto_suite_check.py JUNIT_XML FAILURE_CSV. Exit 1 on a failure that is not listed, a listed
test that passed or is gone, or a class outside the known ones; print the counts either way.
"""

from __future__ import annotations

import csv
import sys
import xml.etree.ElementTree as ET

#: moto-only behaviour (with its source), moto's own store (documented), or not settled by evidence.
#: A pytest-ecr bug is fixed, never listed.
CLASSES = {"moto-only", "moto-store", "unclear"}


def outcomes(junit: str) -> dict[str, str]:
    """test id (``test_ecr.py::name[param]``) -> passed / failed / skipped."""
    result = {}
    for case in ET.parse(junit).iter("testcase"):
        module = case.get("classname", "").split(".")
        # classname is tests.test_ecr.<module>[.<Class>]
        path = f"{module[2]}.py" + "".join(f"::{part}" for part in module[3:])
        status = "passed"
        if case.find("failure") is not None or case.find("error") is not None:
            status = "failed"
        elif case.find("skipped") is not None:
            status = "skipped"
        result[f"{path}::{case.get('name')}"] = status
    return result


def main(junit: str, listing: str) -> int:
    with open(listing, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    listed = {row["test"]: row for row in rows}
    ran = outcomes(junit)
    problems = [
        f"{t}: class {r['class']!r} is not one of {sorted(CLASSES)}"
        for t, r in listed.items()
        if r["class"] not in CLASSES
    ]
    problems += [
        f"{t}: failed, and is not in {listing}" for t, s in ran.items() if s == "failed" and t not in listed
    ]
    problems += [
        f"{t}: listed in {listing} but {ran.get(t, 'not run')}" for t in listed if ran.get(t) != "failed"
    ]
    counts = {
        status: sum(1 for s in ran.values() if s == status) for status in ("passed", "failed", "skipped")
    }
    classes = {c: sum(1 for r in rows if r["class"] == c) for c in sorted(CLASSES)}
    print(f"moto's ECR suite under --ecr-replace-moto: {counts}; listed failures by class: {classes}")
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
