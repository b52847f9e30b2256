"""Deploy gate: refuse to deploy an ECR image with HIGH or CRITICAL vulnerabilities.

Scans the image (a basic scan) unless it has a scan less than 24 hours old, waits for the scan
with boto3's ``image_scan_complete`` waiter, reads every page of findings and fails when more than
``--max-findings`` findings at ``--severity`` or above remain once the allowlisted CVEs are set
aside.

Usage: python -m examples.deploy_gate --repository app --tag v1 [--allow CVE-2024-0001 ...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError, WaiterError

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.type_defs import WaiterConfigTypeDef

#: ECR's basic scan severities, lowest first (UNDEFINED never blocks).
SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
BLOCKING_SEVERITIES = ("HIGH", "CRITICAL")
#: a scan older than this is refreshed (ECR allows one basic scan per image per 24 hours)
RESCAN_AFTER = timedelta(hours=24)


class GateError(Exception):
    """The gate could not reach a verdict (no such image, scan impossible or unfinished...)."""


class ImageArchivedError(GateError):
    """The image is archived (or being restored): ECR cannot scan it until it is ACTIVE again."""


@dataclass(frozen=True)
class Finding:
    name: str
    severity: str
    uri: str | None = None


@dataclass
class GateReport:
    repository: str
    tag: str
    digest: str
    #: False when the image's existing scan (less than 24 hours old) was read instead
    scan_started: bool
    findings: list[Finding] = field(default_factory=list)
    #: findings at or above the severity threshold that are not allowlisted
    blocking: list[Finding] = field(default_factory=list)
    #: findings at or above the severity threshold that the allowlist let through
    allowed: list[Finding] = field(default_factory=list)
    max_blocking: int = 0

    @property
    def passed(self) -> bool:
        return len(self.blocking) <= self.max_blocking


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _resolve(client: ECRClient, repository: str, tag: str) -> str:
    """The digest ``tag`` names now; the gate judges that digest even if the tag moves meanwhile."""
    try:
        [detail] = client.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])[
            "imageDetails"
        ]
    except ClientError as err:
        if _code(err) in ("RepositoryNotFoundException", "ImageNotFoundException"):
            raise GateError(
                f"{repository}:{tag}: {err.response['Error'].get('Message', _code(err))}"
            ) from err
        raise
    status = detail.get("imageStatus", "ACTIVE")
    if status != "ACTIVE":
        raise ImageArchivedError(
            f"{repository}:{tag} ({detail['imageDigest']}) is {status}: restore it to the STANDARD "
            "storage class (UpdateImageStorageClass) and wait until it is ACTIVE before gating it"
        )
    return detail["imageDigest"]


def _needs_scan(client: ECRClient, repository: str, digest: str, now: datetime) -> bool:
    """Whether to start a scan: none exists, or the latest completed a day or more ago.

    Asking first matters: ECR refuses a second scan of an image within 24 hours with
    ``LimitExceededException``, which botocore's standard retry mode treats as throttling and
    retries, with backoff, before the caller sees it.
    """
    try:
        answer = client.describe_image_scan_findings(
            repositoryName=repository, imageId={"imageDigest": digest}, maxResults=1
        )
    except ClientError as err:
        if _code(err) == "ScanNotFoundException":
            return True
        raise
    if answer["imageScanStatus"]["status"] == "FAILED":
        return True
    completed = answer.get("imageScanFindings", {}).get("imageScanCompletedAt")
    return completed is not None and now - completed >= RESCAN_AFTER


def _start_scan(client: ECRClient, repository: str, digest: str) -> bool:
    """Start a basic scan; False when ECR refuses because the image was scanned in the last 24 h
    (another pipeline, or scan on push, got there first): the gate then reads that scan."""
    try:
        client.start_image_scan(repositoryName=repository, imageId={"imageDigest": digest})
    except ClientError as err:
        code = _code(err)
        if code == "LimitExceededException":
            return False
        message = err.response["Error"].get("Message", code)
        if code == "ImageArchivedException":
            raise ImageArchivedError(f"{repository}@{digest}: {message}") from err
        if code in ("UnsupportedImageTypeException", "ValidationException"):
            raise GateError(f"{repository}@{digest} cannot be scanned: {code}: {message}") from err
        raise
    return True


def _findings(client: ECRClient, repository: str, digest: str) -> Iterator[Finding]:
    pages = client.get_paginator("describe_image_scan_findings").paginate(
        repositoryName=repository, imageId={"imageDigest": digest}
    )
    for page in pages:
        for finding in page.get("imageScanFindings", {}).get("findings", []):
            yield Finding(finding["name"], finding["severity"], finding.get("uri"))


def check_image(
    client: ECRClient,
    repository: str,
    tag: str,
    *,
    allowlist: Iterable[str] = (),
    max_blocking: int = 0,
    severity: str = "HIGH",
    waiter_config: WaiterConfigTypeDef | None = None,
    now: datetime | None = None,
) -> GateReport:
    """Scan ``repository:tag`` if needed, wait for the scan and judge its findings.

    Raises :class:`GateError` when no verdict is possible; the report says whether the image
    passed. ``waiter_config`` (``Delay`` / ``MaxAttempts``) overrides the waiter's default
    schedule (every 5 s, 60 times); ``now`` (default: the current time) decides whether an
    existing scan is too old to reuse.
    """
    if severity not in BLOCKING_SEVERITIES:
        raise ValueError(f"severity must be one of {BLOCKING_SEVERITIES}, not {severity!r}")
    if max_blocking < 0:
        raise ValueError("max_blocking must not be negative")
    allowed_ids = set(allowlist)
    blocking_severities = SEVERITIES[SEVERITIES.index(severity) :]

    digest = _resolve(client, repository, tag)
    now = now or datetime.now(timezone.utc)
    started = _needs_scan(client, repository, digest, now) and _start_scan(client, repository, digest)
    try:
        client.get_waiter("image_scan_complete").wait(
            repositoryName=repository,
            imageId={"imageDigest": digest},
            WaiterConfig=waiter_config or {},  # empty: the waiter's own schedule
        )
    except WaiterError as err:
        # A scan that failed (an image built FROM scratch, an OS ECR cannot scan) says why.
        status = (err.last_response or {}).get("imageScanStatus", {})
        reason = status.get("description") if status.get("status") == "FAILED" else None
        raise GateError(f"the scan of {repository}@{digest} did not complete: {reason or err}") from err

    report = GateReport(repository, tag, digest, started, max_blocking=max_blocking)
    report.findings = list(_findings(client, repository, digest))
    for finding in report.findings:
        if finding.severity in blocking_severities:
            (report.allowed if finding.name in allowed_ids else report.blocking).append(finding)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.deploy_gate",
        description="Fail when an ECR image has HIGH or CRITICAL vulnerabilities that are not allowlisted.",
    )
    parser.add_argument("--repository", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument(
        "--allow", action="append", default=[], metavar="CVE", help="a finding to let through (repeatable)"
    )
    parser.add_argument("--max-findings", type=int, default=0, help="blocking findings tolerated (default 0)")
    parser.add_argument(
        "--severity", choices=BLOCKING_SEVERITIES, default="HIGH", help="lowest severity that blocks"
    )
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)

    import boto3

    client = boto3.client("ecr", region_name=args.region)
    try:
        report = check_image(
            client,
            args.repository,
            args.tag,
            allowlist=args.allow,
            max_blocking=args.max_findings,
            severity=args.severity,
        )
    except GateError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    verdict = "PASS" if report.passed else "FAIL"
    print(
        f"{verdict} {report.repository}:{report.tag} {report.digest}: {len(report.findings)} findings, "
        f"{len(report.blocking)} blocking, {len(report.allowed)} allowlisted"
    )
    for finding in report.blocking:
        print(f"  {finding.severity} {finding.name}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
