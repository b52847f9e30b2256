"""Image scanning and account settings (spec §6, §8.6)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError, WaiterError
from helpers import add_blob, image_manifest, index_manifest

from pytest_ecr import UNSUPPORTED_IMAGE, ScanFailure

ACCOUNT = "123456789012"
HIGH = {
    "name": "CVE-2026-0001",
    "severity": "HIGH",
    "uri": "https://example.com/cve-1",
    "attributes": [{"key": "package_name", "value": "openssl"}],
}
LOW = {"name": "CVE-2026-0002", "severity": "LOW"}


def err(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, str]:
    return exc.value.response["Error"]


def rules(*pairs: tuple[str, list[str]]) -> list[dict]:
    return [
        {
            "scanFrequency": freq,
            "repositoryFilters": [{"filter": f, "filterType": "WILDCARD"} for f in filters],
        }
        for freq, filters in pairs
    ]


# -- StartImageScan / DescribeImageScanFindings ---------------------------------------------------


@pytest.mark.ecr_seed(images={"app": [{"tags": ["v1"], "findings": [HIGH, LOW, dict(HIGH, name="CVE-3")]}]})
def test_scan_lifecycle(ecr, ecr_client, ecr_clock):
    started = ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})
    assert started["imageScanStatus"] == {"status": "IN_PROGRESS"}
    assert started["imageId"]["imageTag"] == "v1"
    assert started["registryId"] == ACCOUNT
    pending = ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})
    assert pending["imageScanStatus"]["status"] == "IN_PROGRESS"
    assert "imageScanFindings" not in pending
    ecr_clock.advance(seconds=ecr.options.scan_seconds)
    done = ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})
    assert done["imageScanStatus"] == {
        "status": "COMPLETE",
        "description": "The scan was completed successfully.",
    }
    findings = done["imageScanFindings"]
    assert findings["findingSeverityCounts"] == {"HIGH": 2, "LOW": 1}  # only severities present
    assert [f["name"] for f in findings["findings"]] == ["CVE-2026-0001", "CVE-2026-0002", "CVE-3"]
    assert findings["findings"][0]["attributes"] == [{"key": "package_name", "value": "openssl"}]
    # Whole seconds, as in every recorded scan result (aws-cli awscli/examples/ecr/
    # describe-image-scan-findings.rst: "imageScanCompletedAt": 1579839105.0).
    assert findings["imageScanCompletedAt"] == ecr_clock.now().replace(microsecond=0)


@pytest.mark.ecr_seed(images={"app": ["v1"]})
def test_default_scan_finds_nothing(ecr, ecr_client, ecr_clock):
    ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})
    ecr_clock.advance(seconds=ecr.options.scan_seconds)
    findings = ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})
    assert findings["imageScanFindings"]["findingSeverityCounts"] == {}
    assert findings["imageScanFindings"]["findings"] == []


@pytest.mark.ecr_seed(
    images={"app": [{"tags": ["v1"], "findings": [dict(LOW, name=f"CVE-{i}") for i in range(250)]}]}
)
def test_findings_paginate(ecr, ecr_client, ecr_clock):
    ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})
    ecr_clock.advance(seconds=ecr.options.scan_seconds)
    pages = list(
        ecr_client.get_paginator("describe_image_scan_findings").paginate(
            repositoryName="app", imageId={"imageTag": "v1"}
        )
    )
    assert [len(p["imageScanFindings"]["findings"]) for p in pages] == [100, 100, 50]
    assert all(p["imageScanFindings"]["findingSeverityCounts"] == {"LOW": 250} for p in pages)
    names = [f["name"] for p in pages for f in p["imageScanFindings"]["findings"]]
    assert names == [f"CVE-{i}" for i in range(250)]


@pytest.mark.ecr_seed(images={"app": ["v1"]})
def test_scan_quota_is_a_rolling_24_hours(ecr_client, ecr_clock):
    ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})
    ecr_clock.advance(hours=23, minutes=59)
    with pytest.raises(ClientError) as exc:
        ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})
    assert err(exc) == {
        "Code": "LimitExceededException",
        "Message": "The scan quota per image has been exceeded. Wait and try again.",
    }
    ecr_clock.advance(minutes=1)
    assert ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})["imageScanStatus"]


@pytest.mark.ecr_seed(images={"app": ["v1", "v2"]})
def test_registry_basic_scan_quota_boundary(ecr, ecr_client, ecr_clock):
    """The quota "Basic image scans per 24 hours": 100,000, not adjustable, "includes both scan
    on push and manual scans" (AWS, Amazon ECR service quotas,
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html; the StartImageScan
    API reference: "You can start up to 100,000 basic scans per 24 hours"). Scan 100,000 is
    started, scan 100,001 is refused. The 99,999 earlier scans are written into the registry's
    record of scan start times (``FakeECR.store``, the fake's state) rather than made one by one;
    they date from 23 h 59 min ago, so a minute later they are out of the 24 hours."""
    now = ecr.clock.now()  # epoch seconds (ecr_clock, frozen, answers datetimes)
    registry = ecr.store.registry(ACCOUNT, ecr.region)
    registry.scan_starts = [now - 24 * 3600 + 60] * 99_999

    ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})  # the 100,000th
    with pytest.raises(ClientError) as exc:
        ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v2"})
    assert err(exc)["Code"] == "LimitExceededException"
    # The registry's quota, not v2's own once-a-day one: v2 was never scanned.
    assert err(exc)["Message"] != "The scan quota per image has been exceeded. Wait and try again."

    ecr_clock.advance(minutes=1)
    assert ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v2"})["imageScanStatus"]


def test_scan_errors(ecr, ecr_client):
    ecr.create_repository("app")
    image = ecr.push_image("app", "v1")
    with pytest.raises(ecr_client.exceptions.RepositoryNotFoundException):
        ecr_client.start_image_scan(repositoryName="nope", imageId={"imageTag": "v1"})
    with pytest.raises(ClientError) as exc:
        ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v2"})
    assert err(exc)["Code"] == "ImageNotFoundException"
    with pytest.raises(ClientError) as exc:  # tag and digest that disagree
        ecr_client.start_image_scan(
            repositoryName="app", imageId={"imageTag": "v1", "imageDigest": "sha256:" + "0" * 64}
        )
    assert err(exc)["Code"] == "ImageNotFoundException"
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageDigest": image.digest})
    assert err(exc) == {  # the missing half is quoted 'null' (hashicorp/terraform-provider-aws#35268)
        "Code": "ScanNotFoundException",
        "Message": "Image scan does not exist for the image with "
        f"'{{imageDigest:'{image.digest}', imageTag:'null'}}' "
        f"in the repository with name 'app' in the registry with id '{ACCOUNT}'",
    }


def test_lists_and_artifacts_cannot_be_scanned(ecr, ecr_client):
    ecr.create_repository("app")
    child = ecr.push_image("app")
    index = index_manifest([(child.digest, len(child.manifest))])
    ecr_client.put_image(repositoryName="app", imageManifest=index, imageTag="multi")
    with pytest.raises(ClientError) as exc:
        ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "multi"})
    assert err(exc) == {
        "Code": "UnsupportedImageTypeException",
        "Message": "An artifact with media type 'application/vnd.oci.image.index.v1+json' cannot be scanned. "
        "For more information, see the Amazon ECR documentation.",
    }
    chart = json.loads(image_manifest(ecr, "app"))
    chart["config"] = add_blob(ecr, "app", b"{}", "application/vnd.cncf.helm.config.v1+json")
    ecr_client.put_image(repositoryName="app", imageManifest=json.dumps(chart), imageTag="chart")
    with pytest.raises(ClientError) as exc:
        ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "chart"})
    assert "'application/vnd.cncf.helm.config.v1+json' cannot be scanned" in err(exc)["Message"]


def test_archived_image_cannot_be_scanned(ecr, ecr_client):
    ecr.create_repository("app")
    image = ecr.push_image("app", "v1")
    ecr.repository("app").images[image.digest].status = "ARCHIVED"
    with pytest.raises(ecr_client.exceptions.ImageArchivedException):
        ecr_client.start_image_scan(repositoryName="app", imageId={"imageDigest": image.digest})


def test_manual_scans_are_refused_in_enhanced_mode(ecr, ecr_client):
    ecr.create_repository("app")
    ecr.push_image("app", "v1")
    ecr_client.put_registry_scanning_configuration(scanType="ENHANCED")
    with pytest.raises(ClientError) as exc:
        ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})
    assert err(exc)["Code"] == "ValidationException"


# -- scan on push ---------------------------------------------------------------------------------


def test_legacy_scan_on_push_flag(ecr, ecr_client, ecr_clock):
    ecr_client.create_repository(repositoryName="app", imageScanningConfiguration={"scanOnPush": True})
    ecr_client.create_repository(repositoryName="quiet")
    ecr.push_image("app", "v1")
    ecr.push_image("quiet", "v1")
    assert (
        ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})[
            "imageScanStatus"
        ]["status"]
        == "IN_PROGRESS"
    )
    with pytest.raises(ecr_client.exceptions.ScanNotFoundException):
        ecr_client.describe_image_scan_findings(repositoryName="quiet", imageId={"imageTag": "v1"})
    # The push-time scan counts against the image's daily quota.
    with pytest.raises(ecr_client.exceptions.LimitExceededException):
        ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})


def test_registry_configuration_overrides_the_legacy_flag(ecr, ecr_client):
    ecr_client.create_repository(repositoryName="legacy", imageScanningConfiguration={"scanOnPush": True})
    ecr_client.create_repository(repositoryName="prod-api")
    ecr_client.put_registry_scanning_configuration(scanType="BASIC", rules=rules(("SCAN_ON_PUSH", ["prod"])))
    ecr.push_image("legacy", "v1")
    ecr.push_image("prod-api", "v1")
    with pytest.raises(ecr_client.exceptions.ScanNotFoundException):
        ecr_client.describe_image_scan_findings(repositoryName="legacy", imageId={"imageTag": "v1"})
    status = ecr_client.describe_image_scan_findings(repositoryName="prod-api", imageId={"imageTag": "v1"})
    assert status["imageScanStatus"]["status"] == "IN_PROGRESS"


def test_enhanced_scanning_on_push(ecr, ecr_client, ecr_clock):
    ecr_client.put_registry_scanning_configuration(
        scanType="ENHANCED", rules=rules(("CONTINUOUS_SCAN", ["prod*"]))
    )
    ecr.create_repository("prod-api")
    ecr.create_repository("dev-api")
    finding = {
        "findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/abc",
        "severity": "CRITICAL",
        "title": "CVE-2026-9 - openssl",
        "status": "ACTIVE",
        "type": "PACKAGE_VULNERABILITY",
    }
    ecr.push_image("prod-api", "v1", findings=[finding])
    ecr.push_image("dev-api", "v1")
    pending = ecr_client.describe_image_scan_findings(repositoryName="prod-api", imageId={"imageTag": "v1"})
    assert pending["imageScanStatus"]["status"] == "PENDING"
    ecr_clock.advance(seconds=ecr.options.scan_seconds)
    active = ecr_client.describe_image_scan_findings(repositoryName="prod-api", imageId={"imageTag": "v1"})
    assert active["imageScanStatus"]["status"] == "ACTIVE"
    assert active["imageScanFindings"]["enhancedFindings"][0]["title"] == "CVE-2026-9 - openssl"
    assert active["imageScanFindings"]["findingSeverityCounts"] == {"CRITICAL": 1}
    with pytest.raises(ecr_client.exceptions.ScanNotFoundException):  # matches no rule: not scanned
        ecr_client.describe_image_scan_findings(repositoryName="dev-api", imageId={"imageTag": "v1"})


# -- scans that do not complete -------------------------------------------------------------------


@pytest.mark.ecr_seed(images={"app": [{"tags": ["scratch"], "findings": UNSUPPORTED_IMAGE}]})
def test_a_scan_of_an_unsupported_image_fails_as_ecr_reports_it(ecr, ecr_client, ecr_clock):
    ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "scratch"})
    ecr_clock.advance(seconds=ecr.options.scan_seconds)
    answer = ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "scratch"})
    assert answer["imageScanStatus"] == {
        "status": "FAILED",
        "description": "UnsupportedImageError: The operating system and/or package manager are not supported.",
    }
    assert "imageScanFindings" not in answer
    assert "nextToken" not in answer


@pytest.mark.ecr_seed(images={"app": [{"tags": ["scratch"], "findings": UNSUPPORTED_IMAGE}]})
def test_the_scan_waiter_stops_on_a_failed_scan(ecr, ecr_client, ecr_clock):
    ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "scratch"})
    started = ecr_clock.now()
    with pytest.raises(WaiterError) as exc:
        ecr_client.get_waiter("image_scan_complete").wait(
            repositoryName="app", imageId={"imageTag": "scratch"}
        )
    assert "terminal failure state" in str(exc.value)
    assert exc.value.last_response["imageScanStatus"]["status"] == "FAILED"
    # It polled every 5 s until the scan ended, in the fake's time.
    assert ecr_clock.now() - started == timedelta(seconds=ecr.options.scan_seconds)


def test_an_enhanced_scan_can_end_with_another_status(ecr, ecr_client, ecr_clock):
    ecr_client.put_registry_scanning_configuration(scanType="ENHANCED", rules=rules(("SCAN_ON_PUSH", ["*"])))
    ecr.create_repository("app")
    reason = "The image is no longer eligible for scanning."
    ecr.push_image("app", "v1", findings=ScanFailure(reason, status="SCAN_ELIGIBILITY_EXPIRED"))
    ecr_clock.advance(seconds=ecr.options.scan_seconds)
    answer = ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})
    assert answer["imageScanStatus"] == {"status": "SCAN_ELIGIBILITY_EXPIRED", "description": reason}
    assert "imageScanFindings" not in answer


def test_a_scan_failure_status_must_be_one_of_the_model():
    with pytest.raises(ValueError, match="choose one of FAILED, UNSUPPORTED_IMAGE"):
        ScanFailure("nope", status="COMPLETE")


def test_the_hook_can_fail_a_scan(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        from pytest_ecr import UNSUPPORTED_IMAGE

        def pytest_ecr_scan_findings(scan):
            return UNSUPPORTED_IMAGE if "scratch" in scan.image_tags else None
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ecr_seed(images={"app": ["scratch", "debian"]})
        def test_gate(ecr, ecr_client, ecr_clock):
            for tag in ("scratch", "debian"):
                ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": tag})
            ecr_clock.advance(seconds=ecr.options.scan_seconds)
            statuses = {
                tag: ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": tag})[
                    "imageScanStatus"
                ]["status"]
                for tag in ("scratch", "debian")
            }
            assert statuses == {"scratch": "FAILED", "debian": "COMPLETE"}
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


# -- registry scanning configuration --------------------------------------------------------------


def test_registry_configuration_default_and_round_trip(ecr_client):
    assert ecr_client.get_registry_scanning_configuration()["scanningConfiguration"] == {
        "scanType": "BASIC",
        "rules": [],
    }
    config = rules(("CONTINUOUS_SCAN", ["prod*"]), ("SCAN_ON_PUSH", ["*"]))
    put = ecr_client.put_registry_scanning_configuration(scanType="ENHANCED", rules=config)
    assert put["registryScanningConfiguration"] == {"scanType": "ENHANCED", "rules": config}
    got = ecr_client.get_registry_scanning_configuration()
    assert got["registryId"] == ACCOUNT
    assert got["scanningConfiguration"] == {"scanType": "ENHANCED", "rules": config}


@pytest.mark.parametrize(
    ("scan_type", "config"),
    [
        ("BASIC", rules(("CONTINUOUS_SCAN", ["*"]))),
        ("BASIC", rules(("MANUAL", ["*"]))),
        ("ENHANCED", rules(("SCAN_ON_PUSH", ["a"]), ("SCAN_ON_PUSH", ["b"]))),
    ],
)
def test_registry_configuration_rejections(ecr_client, scan_type, config):
    with pytest.raises(ClientError) as exc:
        ecr_client.put_registry_scanning_configuration(scanType=scan_type, rules=config)
    assert err(exc)["Code"] == "ValidationException"
    assert ecr_client.get_registry_scanning_configuration()["scanningConfiguration"]["rules"] == []


def test_registry_configuration_model_limits(raw_client):
    with pytest.raises(ClientError) as exc:
        raw_client.put_registry_scanning_configuration(
            scanType="BASIC",
            rules=rules(("SCAN_ON_PUSH", ["a"]), ("SCAN_ON_PUSH", ["b"]), ("SCAN_ON_PUSH", ["c"])),
        )
    assert err(exc)["Message"] == (
        "Invalid parameter at 'rules' failed to satisfy constraint: 'Member must have length less than or equal to 2'"
    )
    with pytest.raises(ClientError) as exc:
        raw_client.put_registry_scanning_configuration(
            scanType="BASIC", rules=rules(("SCAN_ON_PUSH", ["Bad Name"]))
        )
    assert err(exc)["Code"] == "InvalidParameterException"


NAMES = ["prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo"]


@pytest.mark.parametrize(
    ("pattern", "matching"),
    [
        ("prod", NAMES),
        ("*prod", ["prod", "repo-prod"]),
        ("prod*", ["prod", "prod-repo", "prodrepo"]),
        ("*prod*", NAMES),
        ("prod*repo", ["prod-repo", "prodrepo"]),
    ],
)
def test_filter_table_of_the_user_guide(ecr, ecr_client, pattern, matching):
    for name in NAMES:
        ecr.create_repository(name)
    ecr_client.put_registry_scanning_configuration(scanType="BASIC", rules=rules(("SCAN_ON_PUSH", [pattern])))
    configs = ecr_client.batch_get_repository_scanning_configuration(repositoryNames=NAMES)[
        "scanningConfigurations"
    ]
    on_push = [c["repositoryName"] for c in configs if c["scanOnPush"]]
    assert on_push == matching
    for c in configs:
        if c["scanOnPush"]:
            assert c["scanFrequency"] == "SCAN_ON_PUSH"
            assert c["appliedScanFilters"] == [{"filter": pattern, "filterType": "WILDCARD"}]
        else:
            assert (c["scanFrequency"], c["appliedScanFilters"]) == ("MANUAL", [])


def test_batch_get_repository_scanning_configuration(ecr, ecr_client):
    ecr.create_repository("prod-api")
    ecr_client.create_repository(repositoryName="legacy", imageScanningConfiguration={"scanOnPush": True})
    before = ecr_client.batch_get_repository_scanning_configuration(repositoryNames=["legacy", "gone"])
    assert before["scanningConfigurations"][0]["scanFrequency"] == "SCAN_ON_PUSH"
    assert before["failures"] == [
        {
            "repositoryName": "gone",
            "failureCode": "REPOSITORY_NOT_FOUND",
            "failureReason": f"The repository with name 'gone' does not exist in the registry with id '{ACCOUNT}'",
        }
    ]
    ecr_client.put_registry_scanning_configuration(
        scanType="ENHANCED", rules=rules(("SCAN_ON_PUSH", ["api"]), ("CONTINUOUS_SCAN", ["prod*"]))
    )
    [config] = ecr_client.batch_get_repository_scanning_configuration(repositoryNames=["prod-api"])[
        "scanningConfigurations"
    ]
    assert config["scanFrequency"] == "CONTINUOUS_SCAN"  # continuous wins over scan on push
    assert config["scanOnPush"] is False
    assert config["repositoryArn"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/prod-api"
    ecr_client.put_registry_scanning_configuration(scanType="ENHANCED")
    [config] = ecr_client.batch_get_repository_scanning_configuration(repositoryNames=["prod-api"])[
        "scanningConfigurations"
    ]
    assert config["scanFrequency"] == "CONTINUOUS_SCAN"  # enhanced without rules scans everything


# -- findings hook --------------------------------------------------------------------------------


def test_conftest_hook_supplies_findings(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_ecr_scan_findings(scan):
            if scan.repository != "app":
                return None
            return [{"name": f"CVE-{i}", "severity": "CRITICAL" if i < 3 else "MEDIUM"} for i in range(130)]
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ecr_seed(images={"app": ["v1"], "other": ["v1"]})
        def test_gate(ecr, ecr_client, ecr_clock):
            for repo in ("app", "other"):
                ecr_client.start_image_scan(repositoryName=repo, imageId={"imageTag": "v1"})
            ecr_clock.advance(seconds=ecr.options.scan_seconds)
            pages = list(ecr_client.get_paginator("describe_image_scan_findings").paginate(
                repositoryName="app", imageId={"imageTag": "v1"}))
            assert [len(p["imageScanFindings"]["findings"]) for p in pages] == [100, 30]
            assert pages[0]["imageScanFindings"]["findingSeverityCounts"] == {"CRITICAL": 3, "MEDIUM": 127}
            other = ecr_client.describe_image_scan_findings(repositoryName="other", imageId={"imageTag": "v1"})
            assert other["imageScanFindings"]["findings"] == []
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


# -- account settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "default", "other"),
    [
        ("BASIC_SCAN_TYPE_VERSION", "AWS_NATIVE", None),
        ("REGISTRY_POLICY_SCOPE", "V2", None),
        ("BLOB_MOUNTING", "DISABLED", "ENABLED"),
    ],
)
def test_account_settings(ecr_client, name, default, other):
    got = ecr_client.get_account_setting(name=name)
    assert (got["name"], got["value"]) == (name, default)
    if other is not None:
        put = ecr_client.put_account_setting(name=name, value=other)
        assert (put["name"], put["value"]) == (name, other)
        assert ecr_client.get_account_setting(name=name)["value"] == other


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BASIC_SCAN_TYPE_VERSION", "CLAIR"),
        ("REGISTRY_POLICY_SCOPE", "V1"),
        ("BLOB_MOUNTING", "YES"),
        ("NOPE", "x"),
    ],
)
def test_account_setting_rejections(ecr_client, name, value):
    with pytest.raises(ClientError) as exc:
        ecr_client.put_account_setting(name=name, value=value)
    assert err(exc)["Code"] == "ValidationException"
    if name != "NOPE":
        assert ecr_client.get_account_setting(name=name)["value"] != value


def test_account_settings_are_per_region(ecr):
    ecr.client().put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    assert ecr.client(region="eu-west-1").get_account_setting(name="BLOB_MOUNTING")["value"] == "DISABLED"


def test_scan_completion_time_is_virtual(ecr, ecr_client, ecr_clock):
    ecr.create_repository("app")
    ecr.push_image("app", "v1")
    start = ecr_clock.now()
    ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})
    ecr_clock.advance(hours=1)
    done = ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})
    completed = start + timedelta(seconds=ecr.options.scan_seconds)
    # Sent in whole seconds (aws-cli describe-image-scan-findings.rst: 1579839105.0).
    assert done["imageScanFindings"]["imageScanCompletedAt"] == completed.replace(microsecond=0)


# -- the scan in DescribeImages -------------------------------------------------------------------
# Basic scanning puts imageScanStatus and imageScanFindingsSummary in DescribeImages' image details;
# enhanced scanning does not (aws/containers-roadmap#1662: describe-images "does not provide the
# imageScanStatus and imageScanFindingsSummary in the output when describing registries using
# enhanced scanning, but it does provides this output in the standard scanning").


def _detail(ecr_client, tag: str = "v1") -> dict:
    (detail,) = ecr_client.describe_images(repositoryName="app", imageIds=[{"imageTag": tag}])["imageDetails"]
    return detail


@pytest.mark.ecr_time("2026-01-01T00:00:00Z")
@pytest.mark.ecr_seed(images={"app": [{"tags": ["v1"], "findings": [HIGH, LOW, dict(HIGH, name="CVE-3")]}]})
def test_describe_images_carries_a_basic_scan(ecr, ecr_client, ecr_clock):
    before = _detail(ecr_client)
    assert not {"imageScanStatus", "imageScanFindingsSummary"} & set(before)  # never scanned
    ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})
    running = _detail(ecr_client)
    assert running["imageScanStatus"] == {"status": "IN_PROGRESS"}
    assert "imageScanFindingsSummary" not in running
    ecr_clock.advance(seconds=ecr.options.scan_seconds)
    done = _detail(ecr_client)
    assert done["imageScanStatus"] == {
        "status": "COMPLETE",
        "description": "The scan was completed successfully.",
    }
    summary = done["imageScanFindingsSummary"]
    assert summary["findingSeverityCounts"] == {"HIGH": 2, "LOW": 1}
    completed = ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})
    assert summary["imageScanCompletedAt"] == completed["imageScanFindings"]["imageScanCompletedAt"]
    assert summary["imageScanCompletedAt"].timestamp() == 1767225600 + ecr.options.scan_seconds
    assert summary["vulnerabilitySourceUpdatedAt"] == summary["imageScanCompletedAt"]


@pytest.mark.ecr_seed(images={"app": [{"tags": ["v1"], "findings": UNSUPPORTED_IMAGE}]})
def test_describe_images_carries_a_failed_basic_scan(ecr, ecr_client, ecr_clock):
    ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})
    ecr_clock.advance(seconds=ecr.options.scan_seconds)
    detail = _detail(ecr_client)
    assert detail["imageScanStatus"] == {
        "status": "FAILED",
        "description": "UnsupportedImageError: The operating system and/or package manager are not supported.",
    }
    assert "imageScanFindingsSummary" not in detail


def test_describe_images_leaves_out_an_enhanced_scan(ecr, ecr_client, ecr_clock):
    ecr_client.put_registry_scanning_configuration(scanType="ENHANCED", rules=rules(("SCAN_ON_PUSH", ["*"])))
    ecr.create_repository("app")
    ecr.push_image("app", "v1", findings=[{"severity": "CRITICAL", "title": "CVE-2026-9 - openssl"}])
    ecr_clock.advance(seconds=ecr.options.scan_seconds)
    scanned = ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})
    assert scanned["imageScanStatus"]["status"] == "ACTIVE"  # the scan did happen
    assert not {"imageScanStatus", "imageScanFindingsSummary"} & set(_detail(ecr_client))
