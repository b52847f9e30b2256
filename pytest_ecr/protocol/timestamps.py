"""How many decimals of a second real ECR sends in each timestamp member of its output shapes.

Every timestamp member of the model is listed (a test checks the list against botocore's model,
so a new member needs a decision). The evidence for each is in docs/behaviour.rst, "Timestamps":
responses recorded since 2024 carry milliseconds in ``createdAt``, ``imagePushedAt`` and
``lastRecordedPullTime`` (older recordings show whole seconds; ECR changed), the basic-scan
times and ``lastEvaluatedAt`` have only ever been recorded in whole seconds, ``expiresAt`` in
milliseconds; members never seen in a recording follow the service's current millisecond default.

Values are truncated (floored), never rounded: a service that records whole seconds reports the
second in which the event happened, and a shown time is then never later than the stored one.
"""

from __future__ import annotations

import math

SECONDS = 0
MILLISECONDS = 3

#: (structure shape, member) -> decimals; all of botocore's ECR model, 2015-09-21.
PRECISION: dict[tuple[str, str], int] = {
    ("AuthorizationData", "expiresAt"): MILLISECONDS,
    ("AwsEcrContainerImageDetails", "lastInUseAt"): MILLISECONDS,
    ("AwsEcrContainerImageDetails", "pushedAt"): MILLISECONDS,
    ("CreatePullThroughCacheRuleResponse", "createdAt"): MILLISECONDS,
    ("DeleteLifecyclePolicyResponse", "lastEvaluatedAt"): SECONDS,
    ("DeletePullThroughCacheRuleResponse", "createdAt"): MILLISECONDS,
    ("DescribeReplicationBackfillResultsResponse", "endedAt"): MILLISECONDS,
    ("DescribeReplicationBackfillResultsResponse", "startedAt"): MILLISECONDS,
    ("EnhancedImageScanFinding", "firstObservedAt"): MILLISECONDS,
    ("EnhancedImageScanFinding", "lastObservedAt"): MILLISECONDS,
    ("EnhancedImageScanFinding", "updatedAt"): MILLISECONDS,
    ("GetLifecyclePolicyResponse", "lastEvaluatedAt"): SECONDS,
    ("ImageDetail", "imagePushedAt"): MILLISECONDS,
    ("ImageDetail", "lastActivatedAt"): MILLISECONDS,
    ("ImageDetail", "lastArchivedAt"): MILLISECONDS,
    ("ImageDetail", "lastRecordedPullTime"): MILLISECONDS,
    ("ImageScanFindings", "imageScanCompletedAt"): SECONDS,
    ("ImageScanFindings", "vulnerabilitySourceUpdatedAt"): SECONDS,
    ("ImageScanFindingsSummary", "imageScanCompletedAt"): SECONDS,
    ("ImageScanFindingsSummary", "vulnerabilitySourceUpdatedAt"): SECONDS,
    ("LifecyclePolicyPreviewResult", "imagePushedAt"): MILLISECONDS,
    ("PackageVulnerabilityDetails", "vendorCreatedAt"): MILLISECONDS,
    ("PackageVulnerabilityDetails", "vendorUpdatedAt"): MILLISECONDS,
    ("PullThroughCacheRule", "createdAt"): MILLISECONDS,
    ("PullThroughCacheRule", "updatedAt"): MILLISECONDS,
    ("RegisterPullTimeUpdateExclusionResponse", "createdAt"): MILLISECONDS,
    ("ReplicationBackfillSummary", "endedAt"): MILLISECONDS,
    ("ReplicationBackfillSummary", "startedAt"): MILLISECONDS,
    ("Repository", "createdAt"): MILLISECONDS,
    ("RepositoryCreationTemplate", "createdAt"): MILLISECONDS,
    ("RepositoryCreationTemplate", "updatedAt"): MILLISECONDS,
    ("StartReplicationBackfillResponse", "startedAt"): MILLISECONDS,
    ("StopReplicationBackfillResponse", "startedAt"): MILLISECONDS,
    ("UpdatePullThroughCacheRuleResponse", "updatedAt"): MILLISECONDS,
}


def precision_of(structure: str, member: str) -> int:
    """Decimals ECR sends for ``structure.member``; milliseconds for a member not listed."""
    return PRECISION.get((structure, member), MILLISECONDS)


def truncate(seconds: float, digits: int) -> float:
    """``seconds`` floored to ``digits`` decimals. A microsecond's nudge keeps a time that is on a
    millisecond (1700000000.123, a float slightly below it) on that millisecond."""
    scale: int = 10**digits
    return math.floor((seconds + 1e-6) * scale) / scale
