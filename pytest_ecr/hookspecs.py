"""Hooks users implement in a conftest.py (or a plugin) to supply what ECR gets from elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .service.context import ScanRequest
    from .store import ScanFailure
    from .upstreams import UpstreamRequest

hookspec = pluggy.HookspecMarker("pytest")


@hookspec(firstresult=True)
def pytest_ecr_scan_findings(scan: ScanRequest) -> list[dict[str, Any]] | ScanFailure | None:
    """Findings of a completed scan of ``scan.repository`` / ``scan.image_digest``.

    Return a list of ``ImageScanFinding`` dicts (``name``, ``severity``, optional ``description``,
    ``uri``, ``attributes``) for ``scan.scan_type == "BASIC"``, or enhanced finding dicts for
    ``"ENHANCED"``, or a ``pytest_ecr.ScanFailure`` for a scan that does not complete; return None
    to leave the answer to the next implementation. The plugin's own
    implementation runs last and finds nothing. Called once per scan, when it completes. Findings
    seeded on an image (``ecr.push_image(..., findings=[...])`` or the ``ecr_seed`` marker) take
    precedence over this hook.
    """


@hookspec(firstresult=True)
def pytest_ecr_upstream_image(request: UpstreamRequest) -> dict[str, Any] | None:
    """The image an upstream registry has for a pull through a pull-through cache rule, when the
    test did not seed it (``ecr.upstream_image`` / ``ecr_seed(upstream=...)``).

    ``request`` has ``registry_url`` (``registry-1.docker.io``...), ``repository``
    (``library/nginx``) and ``reference`` (a tag, or a digest). Return a dict of
    ``ecr.upstream_image`` options (``platforms``, ``size``, ``format``; ``{}`` for a plain image)
    to have it exist, or None to leave the answer to the next implementation (by default: the
    upstream has no such image, ``ImageNotFound``). Called once per tag: the image is then kept.
    """
