"""RemoteECR: the ``ecr`` fixture in contract mode, acting on a real endpoint through its public API.

It offers the helper subset a test can ask of any ECR (:class:`~pytest_ecr.helpers.EcrHelpers`):
clients, ``create_repository``, ``push_image`` (real layer uploads, then PutImage), ``seed``. Every
repository is named under the run's prefix and every resource a test creates is deleted when the
test ends, passed or failed. What only the fake can do raises a pytest skip naming it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from . import seeding, synthetic
from .contract import EMULATOR_CREDENTIALS, Contract, Endpoint
from .recording import Recorder
from .seeding import FakeError, PushedImage, RepositoryHandle
from .service.manifests import digest_of
from .sessions import fresh_boto3_session

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

#: what each create operation leaves behind: (the delete operation, its parameters from the
#: create's response), deleted at the test's end
_UNDO: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "CreateRepository": (
        "DeleteRepository",
        lambda r: {"repositoryName": r["repository"]["repositoryName"], "force": True},
    ),
    "CreatePullThroughCacheRule": (
        "DeletePullThroughCacheRule",
        lambda r: {"ecrRepositoryPrefix": r["ecrRepositoryPrefix"]},
    ),
    "CreateRepositoryCreationTemplate": (
        "DeleteRepositoryCreationTemplate",
        lambda r: {"prefix": r["repositoryCreationTemplate"]["prefix"]},
    ),
}
#: errors of a delete that mean there is nothing left to delete
_GONE = frozenset(
    {"RepositoryNotFoundException", "PullThroughCacheRuleNotFoundException", "TemplateNotFoundException"}
)

#: what only the in-process fake has, by attribute of FakeECR (skipped with this reason)
_FAKE_ONLY = frozenset(
    {
        "calls",
        "clock",
        "options",
        "store",
        "events",
        "faults",
        "problems",
        "repository",
        "push_images",
        "push_artifact",
        "import_oci_layout",
        "run_lifecycle",
        "upstream_image",
        "upstream_failure",
        "upstream_provider",
        "aio_client",
        "settle_due",
        "handle",
        "context",
        "token_valid",
        "caller_for_key",
    }
)


def skip_fake_only(feature: str, endpoint: str) -> NoReturn:
    """Skip the test: it needs ``feature``, which only the in-process fake offers."""
    __tracebackhide__ = True
    pytest.skip(f"{feature} needs pytest-ecr's in-process fake; contract mode runs against {endpoint}")


def _session_and_credentials(endpoint: Endpoint) -> tuple[Any, dict[str, str]]:
    session = fresh_boto3_session()
    if endpoint.is_aws or session.get_credentials() is not None:
        return session, {}
    key, secret = EMULATOR_CREDENTIALS
    return session, {"aws_access_key_id": key, "aws_secret_access_key": secret}


def identify(endpoint: Endpoint) -> tuple[str, str]:
    """(account id, region) of the endpoint: STS's caller identity for AWS, DescribeRegistry's
    registry id for an emulator. An endpoint that cannot say ends the run: every test would fail."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return _identity(endpoint)
    except (BotoCoreError, ClientError) as err:
        pytest.exit(
            f"pytest-ecr: cannot learn the account of {endpoint.label}: {err}",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


def _identity(endpoint: Endpoint) -> tuple[str, str]:
    session, creds = _session_and_credentials(endpoint)
    region = endpoint.region or session.region_name
    if region is None:
        raise pytest.UsageError(
            "--ecr-endpoint aws: boto3 found no region; set AWS_REGION or give --ecr-region"
        )
    if endpoint.is_aws:
        sts = session.client("sts", region_name=region, **creds)
        return str(sts.get_caller_identity()["Account"]), region
    ecr = session.client("ecr", region_name=region, endpoint_url=endpoint.url, **creds)
    return str(ecr.describe_registry()["registryId"]), region


def connect(contract: Contract) -> None:
    """Learn the endpoint's account (refusing one not on the allow-list: that ends the run) and
    start recording; once per process."""
    with contract.lock:
        if contract.account is not None:
            return
        endpoint = contract.endpoint
        account, region = identify(endpoint)
        if endpoint.is_aws and account not in endpoint.allowed_accounts:
            pytest.exit(
                f"pytest-ecr: refusing to run against account {account} at {endpoint.label}: it is "
                f"not among --ecr-allow-account ({', '.join(sorted(endpoint.allowed_accounts))})",
                returncode=pytest.ExitCode.USAGE_ERROR,
            )
        contract.region = region
        if endpoint.record is not None:
            contract.recorder = Recorder(endpoint.record / contract.worker)
            contract.recorder.start(endpoint.label, account, region, contract.prefix)
        contract.account = account


class RemoteECR:
    """The ``ecr`` fixture in contract mode: one test's view of the endpoint."""

    def __init__(self, contract: Contract, region: str | None = None, test: str = "") -> None:
        assert contract.account is not None, "connect(contract) first"
        self.contract = contract
        self.account_id = contract.account
        self.region = region or contract.region
        self.prefix = contract.prefix
        self.endpoint = contract.endpoint.label
        self._test = test
        self._session, self._credentials = _session_and_credentials(contract.endpoint)
        self._helper_clients: dict[str, Any] = {}
        self._images = itertools.count(1)
        #: (region, delete operation, parameters), in creation order
        self.created: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        if name in _FAKE_ONLY:
            skip_fake_only(f"ecr.{name}", self.endpoint)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- clients ------------------------------------------------------------------------------

    def client(
        self,
        region: str | None = None,
        account: str | None = None,
        principal: str | None = None,
        **kwargs: Any,
    ) -> ECRClient:
        """A boto3 ECR client on the endpoint, with boto3's credentials (an emulator's, when the
        chain finds none). Clients of other accounts or principals need the fake."""
        if principal is not None or (account is not None and account != self.account_id):
            skip_fake_only("a client of another account or principal", self.endpoint)
        region = region or self.region
        client = self._session.client(
            "ecr", region_name=region, endpoint_url=self.contract.endpoint.url, **self._credentials, **kwargs
        )
        self.contract.regions.add(region)
        client.meta.events.register("after-call.ecr", self._tracker(region))
        if self.contract.recorder is not None:
            self.contract.recorder.attach(client, region, lambda: self._test)
        return client  # type: ignore[no-any-return]

    def _tracker(self, region: str) -> Callable[..., None]:
        def track(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
            undo = _UNDO.get(model.name)
            if undo is not None and http_response.status_code < 300:
                self.created.append((region, undo[0], undo[1](parsed)))

        return track

    def _client(self, region: str | None) -> Any:
        region = region or self.region
        self.contract.regions.add(region)
        if region not in self._helper_clients:
            self._helper_clients[region] = self.client(region)
        return self._helper_clients[region]

    def _call(self, region: str | None, operation: str, **params: Any) -> Any:
        """An operation through a helper client; ECR's error as a :class:`FakeError`, as the fake's
        helpers raise it."""
        from botocore.exceptions import ClientError

        client = self._client(region)
        try:
            return client._make_api_call(operation, params)
        except ClientError as err:
            error = err.response.get("Error", {})
            raise FakeError(str(error.get("Code", "")), str(error.get("Message", ""))) from None

    # -- helpers ------------------------------------------------------------------------------

    def name(self, name: str) -> str:
        """``name`` under the run's prefix (a name already under it is left as it is)."""
        return name if name.startswith(self.prefix) else self.prefix + name

    def _where(self, account: str | None) -> None:
        if account is not None and account != self.account_id:
            skip_fake_only(f"a registry of another account ({account})", self.endpoint)

    def has_repository(self, name: str, account: str | None = None, region: str | None = None) -> bool:
        self._where(account)
        try:
            self._call(region, "DescribeRepositories", repositoryNames=[self.name(name)])
        except FakeError as err:
            if err.code == "RepositoryNotFoundException":
                return False
            raise
        return True

    def create_repository(
        self, name: str, *, account: str | None = None, region: str | None = None, **params: Any
    ) -> RepositoryHandle:
        """CreateRepository of ``name`` under the run's prefix (the handle's ``name`` is the real
        one); deleted when the test ends."""
        self._where(account)
        repo = self._call(region, "CreateRepository", repositoryName=self.name(name), **params)["repository"]
        return RepositoryHandle(
            repo["repositoryName"],
            repo["repositoryArn"],
            repo["repositoryUri"],
            repo["registryId"],
            region or self.region,
        )

    def push_image(
        self,
        repository: str,
        tags: Sequence[str] | str | None = None,
        *,
        size: int | None = None,
        format: str = "oci",
        platforms: Sequence[str] | None = None,
        account: str | None = None,
        region: str | None = None,
        **fake_only: Any,
    ) -> PushedImage:
        """Push one distinct synthetic image as a client would: each blob by InitiateLayerUpload,
        UploadLayerPart and CompleteLayerUpload (unless BatchCheckLayerAvailability finds it),
        then PutImage under each tag (the platform images of a multi-arch image first). Options
        that set what a push cannot (``pushed_at``, ``findings``...) need the fake."""
        self._where(account)
        for option, value in fake_only.items():
            if value not in (None, ()):
                skip_fake_only(f"push_image({option}=...)", self.endpoint)
        name = self.name(repository)
        tag_list = [tags] if isinstance(tags, str) else list(tags or [])
        *children, top = synthetic.build_images(f"{name}#{next(self._images)}", size, format, platforms or ())
        child_digests = tuple(self._upload(region, name, image, []) for image in children)
        digest = self._upload(region, name, top, tag_list)
        described = self._call(
            region, "DescribeImages", repositoryName=name, imageIds=[{"imageDigest": digest}]
        )
        detail = described["imageDetails"][0]
        return PushedImage(
            name,
            digest,
            tuple(tag_list),
            int(detail.get("imageSizeInBytes", 0)),
            top.manifest,
            top.media_type,
            detail["imagePushedAt"].timestamp(),
            child_digests,
        )

    def _upload(self, region: str | None, name: str, image: synthetic.SyntheticImage, tags: list[str]) -> str:
        digests = [blob.digest for blob in image.blobs]
        checked = (
            self._call(region, "BatchCheckLayerAvailability", repositoryName=name, layerDigests=digests)
            if digests
            else {}
        )
        present = {
            layer["layerDigest"]
            for layer in checked.get("layers", [])
            if layer.get("layerAvailability") == "AVAILABLE"
        }
        for blob in image.blobs:
            if blob.digest in present:
                continue
            data = blob.content if blob.content is not None else synthetic.filler(blob.size)
            upload = self._call(region, "InitiateLayerUpload", repositoryName=name)
            part = int(upload.get("partSize") or len(data)) or len(data)
            for first in range(0, len(data), part):
                chunk = data[first : first + part]
                self._call(
                    region,
                    "UploadLayerPart",
                    repositoryName=name,
                    uploadId=upload["uploadId"],
                    partFirstByte=first,
                    partLastByte=first + len(chunk) - 1,
                    layerPartBlob=chunk,
                )
            self._call(
                region,
                "CompleteLayerUpload",
                repositoryName=name,
                uploadId=upload["uploadId"],
                layerDigests=[blob.digest],
            )
        digest = digest_of(image.manifest)  # ECR's digest of the exact bytes (spec 3.3)
        for tag in list[str | None](tags) or [None]:
            params: dict[str, Any] = {
                "repositoryName": name,
                "imageManifest": image.manifest,
                "imageManifestMediaType": image.media_type,
            }
            if tag is not None:
                params["imageTag"] = tag
            put = self._call(region, "PutImage", **params)
            # the endpoint's own digest, which a test may compare with the content's
            digest = put["image"]["imageId"]["imageDigest"]
        return str(digest)

    #: What :meth:`FakeECR.seed <pytest_ecr.FakeECR.seed>` does, through the API (repository
    #: names under the run's prefix); upstream registries and OCI layouts skip the test.
    seed = seeding.seed

    def upstream_image(self, *args: Any, **kwargs: Any) -> NoReturn:
        skip_fake_only("ecr.upstream_image", self.endpoint)

    def import_oci_layout(self, *args: Any, **kwargs: Any) -> NoReturn:
        skip_fake_only("ecr.import_oci_layout", self.endpoint)

    # -- cleanup ------------------------------------------------------------------------------

    def cleanup(self) -> list[str]:
        """Delete what this test created, newest first; what could not be deleted, described."""
        failures: list[str] = []
        while self.created:
            region, operation, params = self.created.pop()
            try:
                self._call(region, operation, **params)
            except FakeError as err:
                if err.code not in _GONE:
                    failures.append(f"{operation} {params}: {err}")
        return failures


def sweep(contract: Contract) -> list[str]:
    """Delete every repository under the run's prefix that is still there, in every region the
    run used (created by a client the plugin did not make, or left by an interrupted teardown);
    what could not be deleted, described."""
    remote = RemoteECR(contract, test="(end of run)")
    for region in sorted(contract.regions):
        paginator = remote._client(region).get_paginator("describe_repositories")
        for page in paginator.paginate():
            for repo in page["repositories"]:
                if repo["repositoryName"].startswith(contract.prefix):
                    params = {"repositoryName": repo["repositoryName"], "force": True}
                    remote.created.append((region, "DeleteRepository", params))
    return remote.cleanup()


def remote_ecr(
    contract: Contract, request: pytest.FixtureRequest, region: str | None, seeds: Iterable[dict[str, Any]]
) -> Any:
    """The ``ecr`` fixture's body in contract mode (a generator: the RemoteECR, then cleanup)."""
    __tracebackhide__ = True
    connect(contract)
    remote = RemoteECR(contract, region, request.node.nodeid)
    try:
        for seed in seeds:
            remote.seed(**seed)
        yield remote
    finally:
        failures = remote.cleanup()
    if failures:
        pytest.fail(
            "pytest-ecr could not delete what the test created:\n" + "\n".join(failures), pytrace=False
        )
