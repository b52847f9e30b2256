"""Image scanning (spec §6): registry scanning configuration, scan on push, StartImageScan,
DescribeImageScanFindings, BatchGetRepositoryScanningConfiguration.

A scan is stamped with the virtual time it completes, so waiters see IN_PROGRESS until the clock
reaches it; it completes on the agenda at that time (its findings resolved then, and a basic scan's
event sent, whether or not anyone reads it). Findings come from the image's seeded
findings, else from the options' findings provider (the ``pytest_ecr_scan_findings`` hook), else
none; either may give a ``ScanFailure`` instead, and the scan then ends with its status and
description, without findings.
"""

from __future__ import annotations

from typing import Any

from ..agenda import Job
from ..events import IMAGE_SCAN, SCAN_RESOURCE_CHANGE
from ..store import Image, Registry, Repository, Scan, ScanFailure
from . import manifests
from .context import Context, ScanRequest
from .errors import (
    ImageArchivedException,
    LimitExceededException,
    RepositoryNotFoundException,
    ScanNotFoundException,
    UnsupportedImageTypeException,
    ValidationException,
)
from .images import ImageId, require_image
from .pagination import page
from .reactions import IMAGE_ACTIVATED, IMAGE_PUSHED, subscribe
from .registry import operation
from .scan_results import COMPLETE_DESCRIPTION, severity_counts
from .timeline import for_repository, repository, runs
from .wildcards import wildcard_match

DAY = 24 * 60 * 60
#: basic scans per registry (account and region) in any 24 h
REGISTRY_SCAN_QUOTA = 100_000
SCANNABLE_CONFIGS = frozenset(
    {"application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json"}
)
DEFAULT_CONFIGURATION: dict[str, Any] = {"scanType": "BASIC", "rules": []}


# -- configuration --------------------------------------------------------------------------------


def filter_matches(pattern: str, repository: str) -> bool:
    """§6.2: without '*' a filter matches names containing it; with '*' it is an anchored glob."""
    if "*" not in pattern:
        return pattern in repository
    return wildcard_match(pattern, repository)


def _configuration(reg: Registry) -> dict[str, Any]:
    return reg.scanning_configuration or DEFAULT_CONFIGURATION


def effective_frequency(reg: Registry, repo: Repository) -> tuple[str, list[dict[str, str]]]:
    """(scanFrequency, the filters that made it) for a repository under the registry's
    configuration: CONTINUOUS_SCAN beats SCAN_ON_PUSH beats MANUAL."""
    config = reg.scanning_configuration
    if config is None:
        # Never configured: the deprecated per-repository flag decides (basic scan on push).
        return ("SCAN_ON_PUSH", []) if repo.scan_on_push else ("MANUAL", [])
    if config["scanType"] == "ENHANCED" and not config["rules"]:
        return "CONTINUOUS_SCAN", []
    for frequency in ("CONTINUOUS_SCAN", "SCAN_ON_PUSH"):
        for rule in config["rules"]:
            if rule["scanFrequency"] != frequency:
                continue
            matched = [f for f in rule["repositoryFilters"] if filter_matches(f["filter"], repo.name)]
            if matched:
                return frequency, matched
    return "MANUAL", []


def _check_rules(scan_type: str, rules: list[dict[str, Any]]) -> None:
    allowed = {"BASIC": ("SCAN_ON_PUSH",), "ENHANCED": ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")}[scan_type]
    seen: set[str] = set()
    for rule in rules:
        frequency = rule["scanFrequency"]
        if frequency not in allowed:
            raise ValidationException(
                f"Scan frequency {frequency} is not supported for scan type {scan_type}; "
                f"use {' or '.join(allowed)}"
            )
        if frequency in seen:
            raise ValidationException(f"Only one rule with scan frequency {frequency} is allowed")
        seen.add(frequency)


@operation("PutRegistryScanningConfiguration")
def put_registry_scanning_configuration(
    ctx: Context, *, scanType: str = "BASIC", rules: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    rules = [
        {"scanFrequency": r["scanFrequency"], "repositoryFilters": [dict(f) for f in r["repositoryFilters"]]}
        for r in rules or []
    ]
    _check_rules(scanType, rules)
    config = {"scanType": scanType, "rules": rules}
    reg = ctx.registry()
    before = {name: effective_frequency(reg, repo)[0] for name, repo in reg.repositories.items()}
    reg.scanning_configuration = config
    if scanType == "ENHANCED":
        _frequency_change_event(ctx, reg, before)
    return {"registryScanningConfiguration": config}


def _frequency_change_event(ctx: Context, reg: Registry, before: dict[str, str]) -> None:
    """``ECR Scan Resource Change`` SCAN_FREQUENCY_CHANGE (the ECR User Guide's sample), sent when
    an enhanced scanning configuration changes the scan frequency of repositories: one event
    listing each of them, none if no frequency changed."""
    changed = []
    for name, repo in reg.repositories.items():
        frequency = effective_frequency(reg, repo)[0]
        if frequency != before[name]:
            changed.append(
                {
                    "repository-name": name,
                    "repository-arn": repo.arn,
                    "scan-frequency": frequency,
                    "previous-scan-frequency": before[name],
                }
            )
    if changed:
        detail = {
            "action-type": "SCAN_FREQUENCY_CHANGE",
            "repositories": changed,
            "resource-type": "REPOSITORY",
            "scan-type": "ENHANCED",
        }
        no_resources: list[str] = []  # as in the guide's sample: the ARNs are in the detail
        ctx.store.events.emit(
            ctx.clock.now(), SCAN_RESOURCE_CHANGE, reg.account, reg.region, no_resources, detail
        )


@operation("GetRegistryScanningConfiguration")
def get_registry_scanning_configuration(ctx: Context) -> dict[str, Any]:
    reg = ctx.registry()
    return {"registryId": reg.account, "scanningConfiguration": _configuration(reg)}


@operation("BatchGetRepositoryScanningConfiguration")
def batch_get_repository_scanning_configuration(
    ctx: Context, *, repositoryNames: list[str]
) -> dict[str, Any]:
    reg = ctx.registry()
    configurations, failures = [], []
    for name in dict.fromkeys(repositoryNames):
        repo = reg.repositories.get(name)
        if repo is None:
            failures.append(
                {
                    "repositoryName": name,
                    "failureCode": "REPOSITORY_NOT_FOUND",
                    "failureReason": RepositoryNotFoundException.named(name, reg.account).message,
                }
            )
            continue
        frequency, filters = effective_frequency(reg, repo)
        configurations.append(
            {
                "repositoryArn": repo.arn,
                "repositoryName": repo.name,
                "scanOnPush": frequency == "SCAN_ON_PUSH",
                "scanFrequency": frequency,
                "appliedScanFilters": filters,
            }
        )
    return {"scanningConfigurations": configurations, "failures": failures}


# -- scans ----------------------------------------------------------------------------------------


def _unsupported_media_type(image: Image) -> str | None:
    """The media type ECR names when it refuses to scan ``image``, or None if it can be scanned."""
    if image.media_type in manifests.LIST_TYPES:
        return image.media_type
    if image.media_type in manifests.SCHEMA1_TYPES:
        return None
    if image.artifact_media_type not in SCANNABLE_CONFIGS:
        return image.artifact_media_type or image.media_type
    return None


def _start(ctx: Context, reg: Registry, repo: Repository, image: Image, scan_type: str) -> None:
    now = ctx.clock.now()
    scan = image.scan = Scan(scan_type, now, now + ctx.options.scan_seconds)
    if scan_type == "BASIC":
        reg.scan_starts.append(now)
    for_repository(ctx, scan.completes_at, "scan", repo, (repo.name, image.digest, scan))


@runs("scan")
def _complete(ctx: Context, job: Job) -> None:
    """A scan's completion time: its findings are resolved (a scan of an image deleted, or
    scanned again, meanwhile is dropped)."""
    name, digest, scan = job.payload
    repo = repository(ctx, name)
    image = repo.images.get(digest) if repo is not None else None
    if repo is not None and image is not None and image.scan is scan:
        _settle(ctx, repo, image, image.scan)


@subscribe(IMAGE_PUSHED, IMAGE_ACTIVATED)
def on_push(ctx: Context, repo: Repository, image: Image) -> None:
    """Scan a newly pushed image if the registry's configuration (or the legacy flag) says so."""
    reg = ctx.registry(repo.registry_id)
    frequency, _ = effective_frequency(reg, repo)
    if frequency == "MANUAL" or _unsupported_media_type(image) is not None:
        return
    _start(ctx, reg, repo, image, _configuration(reg)["scanType"])


def _recent(starts: list[float], now: float) -> list[float]:
    return [t for t in starts if now - t < DAY]


@operation("StartImageScan")
def start_image_scan(
    ctx: Context, *, repositoryName: str, imageId: ImageId, registryId: str | None = None
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    image = require_image(repo, imageId)
    reg = ctx.registry(registryId)
    if _configuration(reg)["scanType"] == "ENHANCED":
        raise ValidationException(
            "Manual scans are not supported when the registry uses enhanced scanning (scanType ENHANCED)"
        )
    if image.status != "ACTIVE":
        raise ImageArchivedException(
            f"The image with digest '{image.digest}' is archived and cannot be scanned"
        )
    unsupported = _unsupported_media_type(image)
    if unsupported is not None:
        raise UnsupportedImageTypeException(
            f"An artifact with media type '{unsupported}' cannot be scanned. For more information, "
            "see the Amazon ECR documentation."
        )
    now = ctx.clock.now()
    if image.scan is not None and image.scan.scan_type == "BASIC" and now - image.scan.started_at < DAY:
        raise LimitExceededException("The scan quota per image has been exceeded. Wait and try again.")
    reg.scan_starts = _recent(reg.scan_starts, now)
    if len(reg.scan_starts) >= REGISTRY_SCAN_QUOTA:
        raise LimitExceededException(
            f"The basic scan quota of {REGISTRY_SCAN_QUOTA} scans per 24 hours for the registry with id "
            f"'{reg.account}' has been exceeded. Wait and try again."
        )
    _start(ctx, reg, repo, image, "BASIC")
    return {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageId": {"imageDigest": image.digest, "imageTag": imageId.get("imageTag")},
        "imageScanStatus": {"status": "IN_PROGRESS"},
    }


#: the order of ``finding-severity-counts`` / ``findingSeverityCounts`` (the FindingSeverity enum)
def _settle(ctx: Context, repo: Repository, image: Image, scan: Scan) -> bool:
    """Whether ``scan`` is complete now; resolves its findings the first time it is (and a basic
    scan that completes sends its ``ECR Image Scan`` event, dated when it completed)."""
    if ctx.clock.now() < scan.completes_at:
        return False
    if scan.findings is None:
        provided = image.seeded_findings
        if provided is None and ctx.options.scan_findings is not None:
            request = ScanRequest(
                repo.registry_id, repo.region, repo.name, image.digest, tuple(image.tags), scan.scan_type
            )
            provided = ctx.options.scan_findings(request)
        if isinstance(provided, ScanFailure):
            scan.failure, provided = provided, None
        scan.findings = [dict(f) for f in provided or []]
        if scan.scan_type == "BASIC" and scan.failure is None:
            _scan_event(ctx, repo, image, scan)
    return True


def _scan_event(ctx: Context, repo: Repository, image: Image, scan: Scan) -> None:
    """``ECR Image Scan`` (the ECR User Guide's sample for a completed basic scan): the repository's
    ARN in ``resources``; ``finding-severity-counts`` only has the severities found."""
    detail = {
        "scan-status": "COMPLETE",
        "repository-name": repo.name,
        "finding-severity-counts": severity_counts(scan.findings or []),
        "image-digest": image.digest,
        "image-tags": list(image.tags),
    }
    ctx.store.events.emit(scan.completes_at, IMAGE_SCAN, repo.registry_id, repo.region, [repo.arn], detail)


@operation("DescribeImageScanFindings")
def describe_image_scan_findings(
    ctx: Context,
    *,
    repositoryName: str,
    imageId: ImageId,
    registryId: str | None = None,
    nextToken: str | None = None,
    maxResults: int | None = None,
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    image = require_image(repo, imageId)
    scan = image.scan
    if scan is None:
        raise ScanNotFoundException.for_image(imageId, repo.name, repo.registry_id)
    result: dict[str, Any] = {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageId": {"imageDigest": image.digest, "imageTag": imageId.get("imageTag")},
    }
    enhanced = scan.scan_type == "ENHANCED"
    if not _settle(ctx, repo, image, scan):
        result["imageScanStatus"] = {"status": "PENDING" if enhanced else "IN_PROGRESS"}
        return result
    if scan.failure is not None:
        # A scan that did not complete has a status and a reason, and no findings at all.
        result["imageScanStatus"] = {"status": scan.failure.status, "description": scan.failure.description}
        return result
    findings = scan.findings or []
    indexed = list(enumerate(findings))
    found, token = page(
        indexed,
        key=lambda item: item[0],
        scope=(
            "DescribeImageScanFindings",
            repo.registry_id,
            repo.region,
            repo.name,
            image.digest,
            scan.started_at,
        ),
        next_token=nextToken,
        max_results=maxResults,
    )
    result["imageScanStatus"] = (
        {"status": "ACTIVE", "description": "Continuous scan is selected for image."}
        if enhanced
        else {"status": "COMPLETE", "description": COMPLETE_DESCRIPTION}
    )
    result["imageScanFindings"] = {
        "imageScanCompletedAt": scan.completes_at,
        "vulnerabilitySourceUpdatedAt": scan.completes_at,
        "findingSeverityCounts": severity_counts(findings),
        ("enhancedFindings" if enhanced else "findings"): [f for _, f in found],
    }
    result["nextToken"] = token
    return result
