"""Tests of the deploy gate, run against pytest-ecr's fake ECR (no AWS account, no network)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from examples.deploy_gate import Finding, GateError, ImageArchivedError, check_image, main
from pytest_ecr import UNSUPPORTED_IMAGE

MOMENT = datetime(2025, 6, 1, tzinfo=timezone.utc)


def statuses(ecr: Any) -> list[str]:
    """imageScanStatus.status (or the error code) of every DescribeImageScanFindings call, in order."""
    return [
        c.error_code or c.response["imageScanStatus"]["status"]
        for c in ecr.calls.filter("DescribeImageScanFindings")
    ]


# -- verdicts -----------------------------------------------------------------------------------


@pytest.mark.ecr_seed(
    images={"app": [{"tags": ["v1"], "findings": [{"name": "CVE-2024-0001", "severity": "HIGH"}]}]}
)
def test_a_high_finding_blocks(ecr, ecr_client):
    report = check_image(ecr_client, "app", "v1")

    assert not report.passed
    assert report.blocking == [Finding("CVE-2024-0001", "HIGH")]
    assert report.scan_started
    digest = ecr.repository("app").tag_index["v1"]
    assert report.digest == digest
    ecr.calls.assert_called("StartImageScan", times=1, imageId={"imageDigest": digest})
    assert ecr.calls.filter("StartImageScan")[0].error_code is None


@pytest.mark.ecr_seed(
    images={
        "app": [
            {
                "tags": ["v1"],
                "findings": [
                    {"name": "CVE-2024-0002", "severity": "MEDIUM"},
                    {"name": "CVE-2024-0003", "severity": "LOW"},
                    {"name": "CVE-2024-0004", "severity": "INFORMATIONAL"},
                    {"name": "CVE-2024-0005", "severity": "UNDEFINED"},
                ],
            }
        ]
    }
)
def test_findings_below_high_pass(ecr_client):
    report = check_image(ecr_client, "app", "v1")

    assert report.passed
    assert report.blocking == report.allowed == []
    assert [f.name for f in report.findings] == [f"CVE-2024-000{n}" for n in (2, 3, 4, 5)]


def test_a_clean_image_passes(ecr, ecr_client, ecr_repo):
    ecr.push_image(ecr_repo.name, "v1")  # no findings seeded, no hook answer: a clean scan

    report = check_image(ecr_client, ecr_repo.name, "v1")

    assert report.passed
    assert report.findings == []


CRITICAL_AND_HIGH = [
    {"name": "CVE-2024-1000", "severity": "CRITICAL"},
    {"name": "CVE-2024-2000", "severity": "HIGH"},
    {"name": "CVE-2024-3000", "severity": "HIGH"},
    {"name": "CVE-2024-4000", "severity": "MEDIUM"},
]


@pytest.mark.parametrize(
    ("allow", "max_blocking", "severity", "passed", "blocking"),
    [
        ([], 0, "HIGH", False, ["CVE-2024-1000", "CVE-2024-2000", "CVE-2024-3000"]),
        (["CVE-2024-2000"], 0, "HIGH", False, ["CVE-2024-1000", "CVE-2024-3000"]),
        (["CVE-2024-2000"], 2, "HIGH", True, ["CVE-2024-1000", "CVE-2024-3000"]),
        (["CVE-2024-1000", "CVE-2024-2000", "CVE-2024-3000"], 0, "HIGH", True, []),
        # Allowlisting a MEDIUM finding changes nothing: it never blocked.
        (["CVE-2024-4000"], 2, "HIGH", False, ["CVE-2024-1000", "CVE-2024-2000", "CVE-2024-3000"]),
        ([], 0, "CRITICAL", False, ["CVE-2024-1000"]),
        (["CVE-2024-1000"], 0, "CRITICAL", True, []),
    ],
)
@pytest.mark.ecr_seed(images={"app": [{"tags": ["v1"], "findings": CRITICAL_AND_HIGH}]})
def test_allowlist_threshold_and_severity(ecr_client, allow, max_blocking, severity, passed, blocking):
    report = check_image(
        ecr_client, "app", "v1", allowlist=allow, max_blocking=max_blocking, severity=severity
    )

    assert report.passed is passed
    assert [f.name for f in report.blocking] == blocking
    expected_allowed = [
        f["name"] for f in CRITICAL_AND_HIGH if f["name"] in allow and f["severity"] != "MEDIUM"
    ]
    if severity == "CRITICAL":
        expected_allowed = [n for n in expected_allowed if n == "CVE-2024-1000"]
    assert [f.name for f in report.allowed] == expected_allowed


# -- the waiter, in virtual time ----------------------------------------------------------------


@pytest.mark.ecr_time(MOMENT)
@pytest.mark.ecr_seed(images={"app": [{"tags": ["v1"], "findings": [{"name": "CVE-1", "severity": "HIGH"}]}]})
def test_waiter_polls_in_virtual_time(ecr, ecr_client, ecr_clock):
    ecr.options.scan_seconds = 30

    report = check_image(ecr_client, "app", "v1")

    # The gate asks for an existing scan (there is none), starts one, then the waiter polls every
    # 5 s: at 0, 5, ..., 30 s, that is 7 polls; the scan completes at 30 s. Then the gate reads the
    # findings (one page) itself.
    polls = ["IN_PROGRESS"] * 6 + ["COMPLETE"]
    assert statuses(ecr) == ["ScanNotFoundException", *polls, "COMPLETE"]
    assert ecr_clock.now() == MOMENT + timedelta(seconds=30)  # virtual: no real sleeping
    assert not report.passed


@pytest.mark.ecr_time(MOMENT)
@pytest.mark.ecr_seed(images={"app": ["v1"]})
def test_a_scan_slower_than_the_waiter_is_an_error(ecr, ecr_client, ecr_clock):
    ecr.options.scan_seconds = 3600  # the waiter gives up after 60 polls, 5 s apart

    with pytest.raises(GateError, match="did not complete") as excinfo:
        check_image(ecr_client, "app", "v1")

    assert isinstance(excinfo.value.__cause__, WaiterError)
    assert statuses(ecr) == ["ScanNotFoundException"] + ["IN_PROGRESS"] * 60
    assert ecr_clock.now() == MOMENT + timedelta(seconds=59 * 5)


@pytest.mark.ecr_time(MOMENT)
@pytest.mark.ecr_seed(images={"app": [{"tags": ["v1"], "findings": UNSUPPORTED_IMAGE}]})
def test_an_image_ecr_cannot_scan_fails_closed(ecr, ecr_client, ecr_clock):
    # An image built FROM scratch: ECR's basic scan ends FAILED, and the gate gives no pass.
    with pytest.raises(GateError, match="UnsupportedImageError: The operating system") as excinfo:
        check_image(ecr_client, "app", "v1")

    assert isinstance(excinfo.value.__cause__, WaiterError)
    assert statuses(ecr) == ["ScanNotFoundException", "IN_PROGRESS", "IN_PROGRESS", "FAILED"]


# -- existing scans -----------------------------------------------------------------------------


@pytest.mark.ecr_time(MOMENT)
def test_scan_on_push_is_reused(ecr, ecr_client, ecr_repo, ecr_clock):
    ecr_client.put_registry_scanning_configuration(
        scanType="BASIC",
        rules=[
            {
                "scanFrequency": "SCAN_ON_PUSH",
                "repositoryFilters": [{"filter": "test-*", "filterType": "WILDCARD"}],
            }
        ],
    )
    ecr.push_image(ecr_repo.name, "v1", findings=[{"name": "CVE-2024-9", "severity": "CRITICAL"}])
    ecr_clock.advance(4)  # the scan on push started at the push and is still running

    report = check_image(ecr_client, ecr_repo.name, "v1")

    # The gate found the scan on push in progress, did not start another, and waited for it: it
    # completes 10 s after the push (polls at 4, 9 and 14 s).
    ecr.calls.assert_not_called("StartImageScan")
    assert not report.scan_started
    assert statuses(ecr) == ["IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "COMPLETE", "COMPLETE"]
    assert ecr_clock.now() == MOMENT + timedelta(seconds=14)
    assert report.blocking == [Finding("CVE-2024-9", "CRITICAL")]


def test_without_scan_on_push_the_gate_scans(ecr, ecr_client, ecr_repo):
    ecr_client.put_registry_scanning_configuration(
        scanType="BASIC",
        rules=[
            {
                "scanFrequency": "SCAN_ON_PUSH",
                "repositoryFilters": [{"filter": "other", "filterType": "WILDCARD"}],
            }
        ],
    )
    ecr.push_image(ecr_repo.name, "v1")

    assert check_image(ecr_client, ecr_repo.name, "v1").scan_started
    ecr.calls.assert_called("StartImageScan", times=1)


def test_a_scan_from_the_last_24_hours_is_reused_then_refreshed(
    ecr, ecr_client, ecr_repo, ecr_clock, advisories
):
    ecr.push_image(ecr_repo.name, "v1")
    assert check_image(ecr_client, ecr_repo.name, "v1").passed

    # A new advisory is published. Within 24 h ECR would not rescan: the gate reads the old findings.
    advisories["v1"] = [{"name": "CVE-2025-1111", "severity": "HIGH"}]
    ecr_clock.advance(hours=23)
    report = check_image(ecr_client, ecr_repo.name, "v1")
    assert (report.scan_started, report.passed) == (False, True)
    ecr.calls.assert_called("StartImageScan", times=1)

    # A day after the first scan, the gate scans again, and the new scan finds the vulnerability.
    ecr_clock.advance(hours=1)
    report = check_image(ecr_client, ecr_repo.name, "v1")
    assert (report.scan_started, report.passed) == (True, False)
    assert [f.name for f in report.blocking] == ["CVE-2025-1111"]
    assert [c.error_code for c in ecr.calls.filter("StartImageScan")] == [None, None]


def test_a_scan_started_concurrently_is_reused(ecr, ecr_client, ecr_repo, monkeypatch):
    """Another pipeline scans the image between the gate's check and its StartImageScan: ECR
    refuses the second scan (LimitExceededException) and the gate reads the other one."""
    image = ecr.push_image(ecr_repo.name, "v1", findings=[{"name": "CVE-1", "severity": "HIGH"}])
    real = ecr_client.start_image_scan

    def someone_else_scans_first(**kwargs: Any) -> Any:
        ecr.client().start_image_scan(repositoryName=ecr_repo.name, imageId={"imageDigest": image.digest})
        monkeypatch.setattr(ecr_client, "start_image_scan", real)
        return real(**kwargs)

    monkeypatch.setattr(ecr_client, "start_image_scan", someone_else_scans_first)

    report = check_image(ecr_client, ecr_repo.name, "v1")

    assert not report.scan_started
    assert report.blocking == [Finding("CVE-1", "HIGH")]
    codes = [c.error_code for c in ecr.calls.filter("StartImageScan")]
    # (botocore's standard retry mode treats LimitExceededException as throttling and retries it.)
    assert codes[0] is None
    assert set(codes[1:]) == {"LimitExceededException"}


# -- findings from the conftest hook ------------------------------------------------------------


def test_findings_from_the_hook(ecr, ecr_client, ecr_repo, advisories, scans):
    advisories["openssl-3.0.1"] = [
        {"name": "CVE-2022-3602", "severity": "HIGH", "uri": "https://nvd.nist.gov/vuln/detail/CVE-2022-3602"}
    ]
    bad = ecr.push_image(ecr_repo.name, ["v7", "openssl-3.0.1"])
    ecr.push_image(ecr_repo.name, "v8")

    blocked = check_image(ecr_client, ecr_repo.name, "v7")
    clean = check_image(ecr_client, ecr_repo.name, "v8")

    assert blocked.blocking == [
        Finding("CVE-2022-3602", "HIGH", "https://nvd.nist.gov/vuln/detail/CVE-2022-3602")
    ]
    assert clean.passed
    # The hook was asked once per scan, with the scanned image's identity.
    assert [(s.repository, s.image_digest, s.image_tags, s.scan_type) for s in scans] == [
        (ecr_repo.name, bad.digest, ("v7", "openssl-3.0.1"), "BASIC"),
        (ecr_repo.name, clean.digest, ("v8",), "BASIC"),
    ]
    assert {(s.registry_id, s.region) for s in scans} == {(ecr_repo.registry_id, ecr_repo.region)}


def test_seeded_findings_take_precedence_over_the_hook(ecr, ecr_client, ecr_repo, advisories, scans):
    advisories["v1"] = [{"name": "CVE-FROM-HOOK", "severity": "CRITICAL"}]
    ecr.push_image(ecr_repo.name, "v1", findings=[{"name": "CVE-SEEDED", "severity": "HIGH"}])

    report = check_image(ecr_client, ecr_repo.name, "v1")

    assert [f.name for f in report.findings] == ["CVE-SEEDED"]
    assert scans == []


# -- many findings ------------------------------------------------------------------------------


def test_more_than_100_findings_are_paged(ecr, ecr_client, ecr_repo):
    findings = [{"name": f"CVE-2024-{n:04d}", "severity": "MEDIUM"} for n in range(249)]
    findings.append({"name": "CVE-2024-9999", "severity": "CRITICAL"})  # on the third page
    ecr.push_image(ecr_repo.name, "v1", findings=findings)

    report = check_image(ecr_client, ecr_repo.name, "v1", allowlist=["CVE-2024-0000"])

    assert [f.name for f in report.findings] == [f["name"] for f in findings]
    assert report.blocking == [Finding("CVE-2024-9999", "CRITICAL")]
    # Waiter polls (the last one complete), then the gate's own three pages, chained by nextToken.
    pages = ecr.calls.filter("DescribeImageScanFindings")[-3:]
    assert [len(c.response["imageScanFindings"]["findings"]) for c in pages] == [100, 100, 50]
    assert "nextToken" not in pages[0].params
    assert [c.params["nextToken"] for c in pages[1:]] == [c.response["nextToken"] for c in pages[:-1]]
    assert pages[-1].response.get("nextToken") is None


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.ecr_seed(images={"app": [{"tags": ["v1"], "findings": [{"name": "CVE-1", "severity": "HIGH"}]}]})
def test_an_archived_image_is_a_clear_error(ecr, ecr_client):
    ecr_client.update_image_storage_class(
        repositoryName="app", imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE"
    )

    with pytest.raises(ImageArchivedError, match=r"app:v1 \(sha256:[0-9a-f]{64}\) is ARCHIVED: restore it"):
        check_image(ecr_client, "app", "v1")

    ecr.calls.assert_not_called("StartImageScan")


@pytest.mark.ecr_seed(images={"app": ["v1"]})
def test_an_image_archived_after_it_was_resolved(ecr, ecr_client, monkeypatch):
    """If the image is archived between the lookup and the scan, ECR's own refusal is reported."""
    real = ecr_client.start_image_scan

    def archive_then_scan(**kwargs: Any) -> Any:
        ecr_client.update_image_storage_class(
            repositoryName="app", imageId=kwargs["imageId"], targetStorageClass="ARCHIVE"
        )
        return real(**kwargs)

    monkeypatch.setattr(ecr_client, "start_image_scan", archive_then_scan)

    with pytest.raises(ImageArchivedError, match="is archived and cannot be scanned") as excinfo:
        check_image(ecr_client, "app", "v1")

    assert isinstance(excinfo.value.__cause__, ClientError)
    [start] = ecr.calls.filter("StartImageScan")
    assert start.error_code == "ImageArchivedException"


@pytest.mark.parametrize(
    ("repository", "tag", "message"),
    [("nope", "v1", "nope:v1: The repository with name 'nope' does not exist"), ("app", "v9", "app:v9: ")],
)
@pytest.mark.ecr_seed(images={"app": ["v1"]})
def test_missing_repository_or_tag(ecr, ecr_client, repository, tag, message):
    with pytest.raises(GateError, match=message) as excinfo:
        check_image(ecr_client, repository, tag)

    assert isinstance(excinfo.value.__cause__, ClientError)
    ecr.calls.assert_not_called("StartImageScan")


@pytest.mark.ecr_seed(images={"app": [{"tags": ["multi"], "platforms": ["linux/amd64", "linux/arm64"]}]})
def test_a_multi_arch_index_cannot_be_scanned(ecr_client):
    with pytest.raises(GateError, match="cannot be scanned: UnsupportedImageTypeException"):
        check_image(ecr_client, "app", "multi")


@pytest.mark.parametrize("bad", [{"severity": "MEDIUM"}, {"max_blocking": -1}])
def test_bad_settings_are_rejected_before_any_call(ecr, ecr_client, bad):
    with pytest.raises(ValueError, match="must"):
        check_image(ecr_client, "app", "v1", **bad)
    assert len(ecr.calls) == 0


# -- command line -------------------------------------------------------------------------------

FINDINGS = [
    {"name": "CVE-2024-0001", "severity": "HIGH"},
    {"name": "CVE-2024-0002", "severity": "CRITICAL"},
    {"name": "CVE-2024-0003", "severity": "LOW"},
]


@pytest.mark.ecr_seed(images={"app": [{"tags": ["v1"], "findings": FINDINGS}]})
def test_cli_fails_on_blocking_findings(ecr, capsys):
    assert main(["--repository", "app", "--tag", "v1", "--allow", "CVE-2024-0001"]) == 1

    out = capsys.readouterr().out.splitlines()
    digest = ecr.repository("app").tag_index["v1"]
    assert out == [f"FAIL app:v1 {digest}: 3 findings, 1 blocking, 1 allowlisted", "  CRITICAL CVE-2024-0002"]


@pytest.mark.ecr_seed(images={"app": [{"tags": ["v1"], "findings": FINDINGS}]})
def test_cli_passes_with_allowlist(ecr, capsys):
    argv = ["--repository", "app", "--tag", "v1", "--allow", "CVE-2024-0001", "--allow", "CVE-2024-0002"]
    assert main(argv) == 0

    assert capsys.readouterr().out.startswith("PASS app:v1 sha256:")
    ecr.calls.assert_called("StartImageScan", times=1, repositoryName="app")


def test_cli_error_exit_code(ecr, capsys):
    assert main(["--repository", "nope", "--tag", "v1"]) == 2

    assert capsys.readouterr().err.startswith(
        "error: nope:v1: The repository with name 'nope' does not exist"
    )
