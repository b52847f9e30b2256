"""Hooks users implement in a conftest.py (or a plugin) to supply what ECR gets from elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .service.context import ScanRequest

hookspec = pluggy.HookspecMarker("pytest")


@hookspec(firstresult=True)
def pytest_ecr_scan_findings(scan: ScanRequest) -> list[dict[str, Any]] | None:
    """Findings of a completed scan of ``scan.repository`` / ``scan.image_digest``.

    Return a list of ``ImageScanFinding`` dicts (``name``, ``severity``, optional ``description``,
    ``uri``, ``attributes``) for ``scan.scan_type == "BASIC"``, or enhanced finding dicts for
    ``"ENHANCED"``; return None to leave the answer to the next implementation. The plugin's own
    implementation runs last and finds nothing. Called once per scan, when it completes. Findings
    seeded on an image (``ecr.push_image(..., findings=[...])`` or the ``ecr_seed`` marker) take
    precedence over this hook.
    """
