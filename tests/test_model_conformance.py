"""Every response against its botocore output shape; every error code against the modelled list."""

from __future__ import annotations

import json

from conftest import shape_violations
from helpers import KEEP_ONE_LIFECYCLE, image_manifest, sha256

from pytest_ecr.protocol.dispatch import Exchange
from pytest_ecr.protocol.model import operation_names, service_model
from pytest_ecr.service.catalog import handlers

POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:*"}]}
)


def exchange(op: str, response: dict, error: str | None = None) -> Exchange:
    return Exchange(op, {}, "123456789012", "us-east-1", response=response, error_code=error)


def test_checker_catches_what_it_should():
    assert shape_violations(exchange("DescribeRepositories", {"repositories": [{"repositoryName": 5}]}))
    assert shape_violations(exchange("ListImages", {"imageIds": [{"imageDigest": ["x"]}]}))
    assert shape_violations(exchange("DescribeRepositories", {}, error="ImageNotFoundException"))
    assert not shape_violations(exchange("DescribeRepositories", {}, error="RepositoryNotFoundException"))
    assert not shape_violations(exchange("BatchDeleteImage", {"imageIds": [], "failures": []}))


#: operations newer than the oldest supported botocore (1.41.0): the fake implements them, that
#: release's model does not have them
NEWER_THAN_OLDEST = {
    "DeleteSigningConfiguration",
    "DescribeImageSigningStatus",
    "DescribeReplicationBackfillResults",
    "GetSigningConfiguration",
    "ListReplicationBackfills",
    "PutSigningConfiguration",
    "StartReplicationBackfill",
    "StopReplicationBackfill",
}


def test_every_implemented_operation_is_a_model_operation():
    assert set(handlers()) - operation_names() <= NEWER_THAN_OLDEST


def test_every_implemented_operation_answers_within_its_shape(ecr, ecr_client):
    """One successful call of each implemented operation; the suite's `ecr` fixture then checks
    each response against the output shape. Adding a handler without adding it here fails."""
    c = ecr_client
    arn = c.create_repository(repositoryName="app", tags=[{"Key": "k", "Value": "v"}])["repository"][
        "repositoryArn"
    ]
    text = image_manifest(ecr, "app")
    layer = json.loads(text)["layers"][0]["digest"]
    upload: dict = {}
    backfill: dict = {}
    eu = {"region": "eu-west-1", "registryId": "123456789012"}
    # botocore 1.41.0's model has no deleteReplication
    delete_replication = (
        {"deleteReplication": {"enabled": True}}
        if "deleteReplication" in (service_model().shape_for("ReplicationRule").members)
        else {}
    )
    calls = {
        "CreateRepository": lambda: None,
        "PutImage": lambda: c.put_image(repositoryName="app", imageManifest=text, imageTag="v1"),
        "BatchGetImage": lambda: c.batch_get_image(
            repositoryName="app", imageIds=[{"imageTag": "v1"}, {"imageTag": "x"}]
        ),
        "ListImages": lambda: c.list_images(repositoryName="app"),
        "DescribeImages": lambda: c.describe_images(repositoryName="app"),
        "DescribeRepositories": lambda: c.describe_repositories(),
        "PutImageTagMutability": lambda: c.put_image_tag_mutability(
            repositoryName="app", imageTagMutability="MUTABLE"
        ),
        "PutImageScanningConfiguration": lambda: c.put_image_scanning_configuration(
            repositoryName="app", imageScanningConfiguration={"scanOnPush": True}
        ),
        "SetRepositoryPolicy": lambda: c.set_repository_policy(repositoryName="app", policyText=POLICY),
        "GetRepositoryPolicy": lambda: c.get_repository_policy(repositoryName="app"),
        "DeleteRepositoryPolicy": lambda: c.delete_repository_policy(repositoryName="app"),
        "TagResource": lambda: c.tag_resource(resourceArn=arn, tags=[{"Key": "a", "Value": "b"}]),
        "ListTagsForResource": lambda: c.list_tags_for_resource(resourceArn=arn),
        "UntagResource": lambda: c.untag_resource(resourceArn=arn, tagKeys=["a"]),
        "GetAuthorizationToken": lambda: c.get_authorization_token(),
        "StartImageScan": lambda: c.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"}),
        "DescribeImageScanFindings": lambda: c.describe_image_scan_findings(
            repositoryName="app", imageId={"imageTag": "v1"}
        ),
        "PutRegistryScanningConfiguration": lambda: c.put_registry_scanning_configuration(
            scanType="BASIC",
            rules=[
                {
                    "scanFrequency": "SCAN_ON_PUSH",
                    "repositoryFilters": [{"filter": "a*", "filterType": "WILDCARD"}],
                }
            ],
        ),
        "GetRegistryScanningConfiguration": lambda: c.get_registry_scanning_configuration(),
        "BatchGetRepositoryScanningConfiguration": lambda: c.batch_get_repository_scanning_configuration(
            repositoryNames=["app", "missing"]
        ),
        "PutAccountSetting": lambda: c.put_account_setting(name="BLOB_MOUNTING", value="ENABLED"),
        "GetAccountSetting": lambda: c.get_account_setting(name="BLOB_MOUNTING"),
        "InitiateLayerUpload": lambda: upload.update(c.initiate_layer_upload(repositoryName="app")),
        "UploadLayerPart": lambda: c.upload_layer_part(
            repositoryName="app",
            uploadId=upload["uploadId"],
            partFirstByte=0,
            partLastByte=2,
            layerPartBlob=b"abc",
        ),
        "CompleteLayerUpload": lambda: c.complete_layer_upload(
            repositoryName="app", uploadId=upload["uploadId"], layerDigests=[sha256(b"abc")]
        ),
        "BatchCheckLayerAvailability": lambda: c.batch_check_layer_availability(
            repositoryName="app", layerDigests=[layer, sha256(b"abc"), sha256(b"absent"), "bad"]
        ),
        "GetDownloadUrlForLayer": lambda: c.get_download_url_for_layer(
            repositoryName="app", layerDigest=layer
        ),
        "UpdateImageStorageClass": lambda: c.update_image_storage_class(
            repositoryName="app", imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE"
        ),
        "ListImageReferrers": lambda: (
            ecr.push_artifact("app", ecr.repository("app").tag_index["v1"], annotations={"a": "b"}),
            c.list_image_referrers(
                repositoryName="app", subjectId={"imageDigest": ecr.repository("app").tag_index["v1"]}
            ),
        ),
        "PutLifecyclePolicy": lambda: c.put_lifecycle_policy(
            repositoryName="app", lifecyclePolicyText=KEEP_ONE_LIFECYCLE
        ),
        "GetLifecyclePolicy": lambda: c.get_lifecycle_policy(repositoryName="app"),
        "StartLifecyclePolicyPreview": lambda: (
            ecr.push_image("app", "old", pushed_days_ago=1),
            setattr(ecr.options, "lifecycle_preview_seconds", 0),
            c.start_lifecycle_policy_preview(repositoryName="app"),
        ),
        "GetLifecyclePolicyPreview": lambda: c.get_lifecycle_policy_preview(repositoryName="app"),
        "DeleteLifecyclePolicy": lambda: c.delete_lifecycle_policy(repositoryName="app"),
        "PutRegistryPolicy": lambda: c.put_registry_policy(policyText=POLICY),
        "GetRegistryPolicy": lambda: c.get_registry_policy(),
        "DeleteRegistryPolicy": lambda: c.delete_registry_policy(),
        "PutReplicationConfiguration": lambda: c.put_replication_configuration(
            replicationConfiguration={"rules": [{"destinations": [eu], **delete_replication}]}
        ),
        "DescribeRegistry": lambda: c.describe_registry(),
        "DescribeImageReplicationStatus": lambda: (
            ecr.push_image("app", "replicated"),
            c.describe_image_replication_status(repositoryName="app", imageId={"imageTag": "replicated"}),
        ),
        "StartReplicationBackfill": lambda: backfill.update(c.start_replication_backfill(destination=eu)),
        "ListReplicationBackfills": lambda: c.list_replication_backfills(),
        "StopReplicationBackfill": lambda: c.stop_replication_backfill(
            replicationBackfillId=backfill["replicationBackfillId"]
        ),
        "DescribeReplicationBackfillResults": lambda: c.describe_replication_backfill_results(
            replicationBackfillId=backfill["replicationBackfillId"]
        ),
        "PutSigningConfiguration": lambda: c.put_signing_configuration(
            signingConfiguration={
                "rules": [{"signingProfileArn": "arn:aws:signer:us-east-1:123456789012:/signing-profiles/ci"}]
            }
        ),
        "GetSigningConfiguration": lambda: c.get_signing_configuration(),
        "DescribeImageSigningStatus": lambda: (
            ecr.push_image("app", "signed"),
            c.describe_image_signing_status(repositoryName="app", imageId={"imageTag": "signed"}),
        ),
        "DeleteSigningConfiguration": lambda: c.delete_signing_configuration(),
        "RegisterPullTimeUpdateExclusion": lambda: c.register_pull_time_update_exclusion(
            principalArn="arn:aws:iam::123456789012:role/ci"
        ),
        "ListPullTimeUpdateExclusions": lambda: c.list_pull_time_update_exclusions(),
        "DeregisterPullTimeUpdateExclusion": lambda: c.deregister_pull_time_update_exclusion(
            principalArn="arn:aws:iam::123456789012:role/ci"
        ),
        "CreateRepositoryCreationTemplate": lambda: c.create_repository_creation_template(
            prefix="prod", appliedFor=["REPLICATION"], description="d"
        ),
        "DescribeRepositoryCreationTemplates": lambda: c.describe_repository_creation_templates(),
        "UpdateRepositoryCreationTemplate": lambda: c.update_repository_creation_template(
            prefix="prod", imageTagMutability="IMMUTABLE"
        ),
        "DeleteRepositoryCreationTemplate": lambda: c.delete_repository_creation_template(prefix="prod"),
        "CreatePullThroughCacheRule": lambda: c.create_pull_through_cache_rule(
            ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io"
        ),
        "DescribePullThroughCacheRules": lambda: c.describe_pull_through_cache_rules(),
        "UpdatePullThroughCacheRule": lambda: c.update_pull_through_cache_rule(
            ecrRepositoryPrefix="quay",
            credentialArn="arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/quay-abc",
        ),
        "ValidatePullThroughCacheRule": lambda: c.validate_pull_through_cache_rule(
            ecrRepositoryPrefix="quay"
        ),
        "DeletePullThroughCacheRule": lambda: c.delete_pull_through_cache_rule(ecrRepositoryPrefix="quay"),
        "BatchDeleteImage": lambda: c.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v1"}]),
        "DeleteRepository": lambda: c.delete_repository(repositoryName="app", force=True),
    }
    assert set(calls) == set(handlers()), "add the new operation to this test"
    modelled = set(handlers()) & operation_names()  # this botocore's client has these methods
    for name, call in calls.items():
        if name in modelled:
            call()
    assert {e.operation for e in ecr.calls if e.error_code is None} == modelled


def test_every_operation_of_the_model_is_implemented():
    """All of botocore's ECR operations answer; none is NotImplementedByFake."""
    missing = sorted(operation_names() - set(handlers()))
    assert not missing, f"operations of the installed botocore's ECR model without a handler: {missing}"
