"""Shared test setup for the examples: a vulnerability database behind pytest-ecr's scans.

pytest-ecr's scans find nothing unless told otherwise. The ``pytest_ecr_scan_findings`` hook below
plays the scanner's vulnerability database: a scan of an image carrying a tag listed in
``ADVISORIES`` reports those findings. Tests fill it through the ``advisories`` fixture; every other
scan is left to the next implementation (``return None``), which finds nothing. Findings seeded on
an image (``ecr_seed`` / ``ecr.push_image(findings=...)``) take precedence over the hook.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_ecr.service.context import ScanRequest

#: tag -> findings a scan of an image with that tag reports
ADVISORIES: dict[str, list[dict[str, Any]]] = {}
#: every scan the hook was asked about, in order
SCANS: list[ScanRequest] = []


# optionalhook: the examples' other tests still run when pytest-ecr is not loaded (-p no:ecr).
@pytest.hookimpl(optionalhook=True)
def pytest_ecr_scan_findings(scan: ScanRequest) -> list[dict[str, Any]] | None:
    SCANS.append(scan)
    for tag in scan.image_tags:
        if tag in ADVISORIES:
            return [dict(finding) for finding in ADVISORIES[tag]]
    return None


@pytest.fixture
def advisories() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """The hook's database (tag -> findings), empty at the start and end of each test."""
    ADVISORIES.clear()
    SCANS.clear()
    yield ADVISORIES
    ADVISORIES.clear()
    SCANS.clear()


@pytest.fixture
def scans(advisories: dict[str, list[dict[str, Any]]]) -> list[ScanRequest]:
    """The scans the hook was consulted about during this test."""
    return SCANS
