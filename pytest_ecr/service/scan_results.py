"""What a finished scan reports, shared by DescribeImageScanFindings (:mod:`.scanning`) and the
scan members of DescribeImages' image details (:mod:`.images`), which cannot import each other."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..store import Scan

COMPLETE_DESCRIPTION = "The scan was completed successfully."
SEVERITY_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")


def severity_counts(findings: list[dict[str, Any]]) -> dict[str, int]:
    """Findings by severity, only the severities present, most severe first."""
    counts = Counter(str(f.get("severity", "UNDEFINED")) for f in findings)
    rank = {severity: n for n, severity in enumerate(SEVERITY_ORDER)}
    return {s: counts[s] for s in sorted(counts, key=lambda s: rank.get(s, len(rank)))}


def detail_members(scan: Scan | None) -> dict[str, Any]:
    """``imageScanStatus`` and ``imageScanFindingsSummary`` of an ``ImageDetail``. DescribeImages
    carries them for basic scans only: enhanced scanning leaves them out (aws/containers-roadmap#1662:
    "does not provide the imageScanStatus and imageScanFindingsSummary in the output when ...
    using enhanced scanning, but it does provide this output in the standard scanning"). A scan
    still running has its status alone; one that failed, its status and reason."""
    if scan is None or scan.scan_type != "BASIC":
        return {}
    if scan.failure is not None:
        return {"imageScanStatus": {"status": scan.failure.status, "description": scan.failure.description}}
    if scan.findings is None:  # not yet complete: the agenda resolves findings at completion
        return {"imageScanStatus": {"status": "IN_PROGRESS"}}
    return {
        "imageScanStatus": {"status": "COMPLETE", "description": COMPLETE_DESCRIPTION},
        "imageScanFindingsSummary": {
            "imageScanCompletedAt": scan.completes_at,
            "vulnerabilitySourceUpdatedAt": scan.completes_at,
            "findingSeverityCounts": severity_counts(scan.findings),
        },
    }
