"""FakeECR: the facade tests use, with or without pytest."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from . import _hook, seeding, synthetic, upstreams
from ._hook import FAKE_CREDENTIALS
from .calls import CallLog
from .clock import Clock
from .config import REGION_NAME
from .events import EventLog
from .faults import ConnectionDropped, Faults, botocore_error, injected_exchange, requested
from .protocol import dispatch, sigv4
from .protocol.model import TARGET_PREFIX
from .seeding import FakeError as FakeError  # re-exported: the facade's public types
from .seeding import PushedImage as PushedImage
from .seeding import RepositoryHandle as RepositoryHandle
from .service import manifests
from .service.auth import token_grant
from .service.catalog import run_due
from .service.context import (
    Context,
    FindingsProvider,
    Options,
    RegistryEndpoint,
    aws_registry_endpoint,
    principal_account,
)
from .sessions import ecr_client
from .sleeps import VirtualSleeps
from .snapshot import Snapshot, restore_snapshot, take_snapshot
from .store import Repository, ScanFailure, Store
from .transport import Isolation, RequestHeaders, body_bytes, header, request_identity, response

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

    from .service.lifecycle import LifecycleAction

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
SECONDS_PER_DAY = 86400


class FakeECR:
    """An in-memory ECR: every account and region, one clock, one call log.

    The ``ecr`` fixture builds one from the configuration; outside pytest use
    :func:`~pytest_ecr.mock_ecr`, ``start()`` / ``stop()`` or ``with FakeECR() as fake:``. While
    active, boto3 / botocore ECR clients in the process are answered by it.

    Besides the methods below: ``calls`` (a :class:`~pytest_ecr.CallLog`, every request clients
    made), ``clock`` (a :class:`~pytest_ecr.Clock`, the one source of the fake's time),
    ``options`` (how long asynchronous work takes in virtual time and where findings come
    from: ``scan_seconds``, ``restore_seconds``, ``replication_seconds``... change them at any
    time) and ``store`` (the state itself).
    """

    def __init__(
        self,
        account_id: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
        allow_services: Iterable[str] = (),
        clock: Clock | None = None,
        scan_seconds: float = 10.0,
        scan_findings: FindingsProvider | None = None,
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.allow_services = frozenset(allow_services)
        self.clock = clock or Clock()
        self.store = Store()
        self.calls = CallLog()
        self._lock = threading.RLock()
        # Reading the events applies the work the clock has reached, under the fake's lock.
        self.store.events.settle = self.settle_due
        self.store.events.guard = self._lock
        # Advancing the clock runs what is then due.
        self.clock.on_advance(self.settle_due)
        self._faults = Faults()
        #: scan duration and findings provider; change them at any time
        self.options = Options(scan_seconds=scan_seconds, scan_findings=scan_findings)
        self._sleeps = VirtualSleeps(self.clock.advance, self.clock.now)
        self._isolation: Isolation | None = None
        #: access key -> (account, principal ARN or None for the account's root)
        self._access_keys: dict[str, tuple[str, str | None]] = {}
        self._key_counter = itertools.count(1)
        self._image_counter = itertools.count(1)

    # -- activation ---------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self._isolation is not None

    def start(self) -> FakeECR:
        if self._isolation is not None:
            raise RuntimeError("this FakeECR is already active")
        _hook.install()
        self._isolation = Isolation(self.region, self.allow_services).__enter__()
        self._sleeps.__enter__()
        _hook.activate(self)
        return self

    def stop(self) -> None:
        if self._isolation is None:
            return
        _hook.deactivate(self)
        self._sleeps.__exit__(None, None, None)
        self._isolation.__exit__(None, None, None)
        self._isolation = None
        self.clock.unfreeze()

    def __enter__(self) -> FakeECR:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- transport ----------------------------------------------------------------------------

    def answer_botocore(self, request: Any, event_name: str) -> Any:
        # what AWS refuses before ECR sees it (an UNSIGNED client, a scope of another service...)
        refusal = sigv4.refuse_header(RequestHeaders(request), REGION_NAME)
        if isinstance(refusal, sigv4.Refusal):
            return response(request.url, refusal.status, refusal.headers(), refusal.body)
        key, region = request_identity(request)
        account, principal = self.caller_for_key(key)
        try:
            exchange = self.handle(
                header(request, "X-Amz-Target"),
                body_bytes(request),
                account,
                region or self.region,
                principal,
            )
        except ConnectionDropped as dropped:
            raise botocore_error(dropped.fault, request.url) from None
        return response(request.url, exchange.status, exchange.headers(), exchange.body)

    def settle_due(self) -> None:
        """Run the agenda's jobs due by now (scans, restores, signing, replications, backfill
        phases, referrers following their subject, lifecycle runs and previews) in due-time
        order, each at its due time: what every request, every helper, reading ``events`` and
        advancing the clock do first."""
        with self._lock:
            run_due(self.store, self.clock, self.options)

    @property
    def events(self) -> EventLog:
        """The EventBridge events the fake's ECR would have sent, in time order (see
        :doc:`events`)."""
        return self.store.events

    def caller_for_key(self, access_key: str | None) -> tuple[str, str | None]:
        """Who signs with ``access_key`` (see :meth:`client`): (account, principal ARN), the
        principal None for the account's root. Unknown keys are the fake's own account. Every
        transport maps credentials to a caller here."""
        return self._access_keys.get(access_key or "", (self.account_id, None))

    def issued_key(self, access_key: str) -> bool:
        """Whether :meth:`client` issued ``access_key`` (for another account or a principal); the
        server verifies the signatures of the keys the fake issued."""
        return access_key in self._access_keys

    def handle(
        self,
        target: str | None,
        body: bytes,
        account: str,
        region: str,
        principal: str | None = None,
        registry_endpoint: RegistryEndpoint | None = None,
    ) -> dispatch.Exchange:
        """Serve one ECR JSON request for ``account`` in ``region`` and log it. ``principal`` is the
        caller's IAM principal ARN (None: the account's root); ``registry_endpoint`` names the
        registries in the answer (None: AWS's hosts; the server passes its own).

        Raises :class:`~pytest_ecr.faults.ConnectionDropped` when a fault rule drops the connection.
        """
        with self._lock:
            self.settle_due()
            fault = None
            if len(self._faults):
                name, params = requested(target, body)
                fault = self._faults.match(name, params)
            if fault is None or fault.after_processing:
                ctx = self.context(account, region, principal, registry_endpoint)
                exchange = dispatch.handle(target, body, ctx)
                exchange.injected = fault is not None
            else:
                exchange = injected_exchange(fault, name, params, account, region)
            self.calls.append(exchange)
        if fault is not None and fault.kind == "drop":
            raise ConnectionDropped(fault)
        return exchange

    @property
    def faults(self) -> Faults:
        """Fault rules: make client calls fail on purpose (see :mod:`pytest_ecr.faults`)."""
        return self._faults

    def context(
        self,
        account: str | None = None,
        region: str | None = None,
        principal: str | None = None,
        registry_endpoint: RegistryEndpoint | None = None,
    ) -> Context:
        return Context(
            self.store,
            self.clock,
            account or self.account_id,
            region or self.region,
            self.options,
            principal or "",
            registry_endpoint=registry_endpoint or aws_registry_endpoint,
        )

    def token_valid(self, authorization_token: str) -> bool:
        """Whether a GetAuthorizationToken ``authorizationToken`` is still valid at the fake's now."""
        return token_grant(self.store, authorization_token, self.clock.now()) is not None

    def problems(self) -> list[dispatch.Exchange]:
        """Calls the fake could not answer faithfully: its own bugs and unimplemented operations,
        each with a ``traceback``. The ``ecr`` fixture fails the test if there are any; with
        :func:`~pytest_ecr.mock_ecr`, check it yourself."""
        return [c for c in self.calls if c.traceback is not None and not c.injected]

    # -- clients --------------------------------------------------------------------------------

    def client(
        self,
        region: str | None = None,
        account: str | None = None,
        principal: str | None = None,
        **kwargs: Any,
    ) -> ECRClient:
        """A boto3 ECR client on this fake, for ``account`` (default: the fake's) in ``region``.

        ``principal`` (an IAM ARN such as ``arn:aws:iam::123456789012:role/ci-puller``) is who the
        client signs as; its account is the client's account (``account`` may be left out, and
        must agree if given). Without it the caller is the account's root. A client for another
        account gets its own fake access key, which the fake maps back to that account, so several
        accounts can be tested at once. ``kwargs`` go to ``boto3.client`` (for example
        ``config=botocore.config.Config(...)``).
        """
        return ecr_client(  # type: ignore[no-any-return]
            region_name=region or self.region,
            aws_access_key_id=self._access_key(account, principal),
            aws_secret_access_key=FAKE_CREDENTIALS[1],
            **kwargs,
        )

    def aio_client(
        self,
        region: str | None = None,
        account: str | None = None,
        principal: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """An aiobotocore ECR client on this fake, as :meth:`client` (needs aiobotocore installed):
        ``async with ecr.aio_client() as client: await client.describe_repositories()``."""
        import importlib

        session = importlib.import_module("aiobotocore.session").get_session()
        return session.create_client(
            "ecr",
            region_name=region or self.region,
            aws_access_key_id=self._access_key(account, principal),
            aws_secret_access_key=FAKE_CREDENTIALS[1],
            **kwargs,
        )

    def _access_key(self, account: str | None, principal: str | None = None) -> str:
        """The access key a client of ``account`` (as ``principal``) signs with: the fake maps it
        back to them (:meth:`caller_for_key`)."""
        if principal is not None:
            owner = principal_account(principal)
            if account is not None and account != owner:
                raise ValueError(f"account {account!r} disagrees with the account of principal {principal!r}")
            account = owner
        if principal is None and (account is None or account == self.account_id):
            return FAKE_CREDENTIALS[0]
        access_key = f"AKIAPYTESTECR{next(self._key_counter):07d}"
        self._access_keys[access_key] = (account or self.account_id, principal)
        return access_key

    # -- helpers --------------------------------------------------------------------------------

    def _call(self, operation: str, params: dict[str, Any], account: str | None, region: str | None) -> Any:
        import json

        self.settle_due()
        exchange = dispatch.handle(
            TARGET_PREFIX + operation, json.dumps(params).encode(), self.context(account, region)
        )
        if exchange.traceback is not None and exchange.error_code == "ServerException":
            raise RuntimeError(f"pytest-ecr internal error in {operation}:\n{exchange.traceback}")
        if exchange.error_code is not None:
            raise FakeError(exchange.error_code, exchange.error_message or "")
        return exchange.response

    def create_repository(
        self, name: str, *, account: str | None = None, region: str | None = None, **params: Any
    ) -> RepositoryHandle:
        """CreateRepository, through the same code and validation as the API; ``params`` are its
        request members (``imageTagMutability``, ``imageScanningConfiguration``,
        ``encryptionConfiguration``, ``tags``...). Raises :class:`FakeError` with ECR's error
        (``RepositoryAlreadyExistsException``...)."""
        with self._lock:
            repo = self._call("CreateRepository", {"repositoryName": name, **params}, account, region)[
                "repository"
            ]
        return RepositoryHandle(
            repo["repositoryName"],
            repo["repositoryArn"],
            repo["repositoryUri"],
            repo["registryId"],
            region or self.region,
        )

    def name(self, name: str) -> str:
        """The repository name a test's ``name`` stands for: itself here; in contract mode
        (:doc:`contract`) the name under the run's prefix. Tests that run in both modes refer to
        repositories they seeded as ``ecr.name("app")``."""
        return name

    def has_repository(self, name: str, account: str | None = None, region: str | None = None) -> bool:
        """Whether the registry of ``account`` in ``region`` (default: the fake's) holds ``name``."""
        with self._lock:
            reg = self.store.registry(account or self.account_id, region or self.region)
            return name in reg.repositories

    def repository(self, name: str, account: str | None = None, region: str | None = None) -> Repository:
        """The stored state of a repository (a :class:`~pytest_ecr.Repository`: ``images``, digest
        to image in push order, ``tag_index``, tag to digest, ``tag_mutability``,
        ``scan_on_push``, ``resource_tags``, ``policy_text``...), for assertions the API cannot
        express, or a KeyError listing those that exist. It is the live state, as a request would
        see it now: due replications, restores, signing jobs and lifecycle runs are applied
        first."""
        __tracebackhide__ = True
        with self._lock:
            self.settle_due()
            reg = self.store.registry(account or self.account_id, region or self.region)
            if name not in reg.repositories:
                raise KeyError(
                    f"no repository {name!r} in account {reg.account} / {reg.region}; "
                    f"existing: {sorted(reg.repositories) or 'none'}"
                )
            return self.context(reg.account, reg.region).repository(name)

    def _push(
        self,
        repository: str,
        image: synthetic.SyntheticImage,
        tags: Sequence[str],
        pushed_at: float | None = None,
        findings: list[dict[str, Any]] | ScanFailure | None = None,
        account: str | None = None,
        region: str | None = None,
        children: tuple[str, ...] = (),
    ) -> PushedImage:
        """:func:`seeding.store_synthetic` into ``repository``. The caller holds the lock."""
        repo = self.repository(repository, account, region)
        return seeding.store_synthetic(
            self.context(account, region), repo, image, tags, pushed_at, findings, children
        )

    def push_image(
        self,
        repository: str,
        tags: Sequence[str] | str | None = None,
        *,
        size: int | None = None,
        pushed_at: float | None = None,
        pushed_days_ago: float | None = None,
        format: str = "oci",
        platforms: Sequence[str] | None = None,
        findings: list[dict[str, Any]] | ScanFailure | None = None,
        referrers: Sequence[str | dict[str, Any]] = (),
        account: str | None = None,
        region: str | None = None,
    ) -> PushedImage:
        """Push one distinct synthetic image (its blobs, then its manifest under each tag, by
        PutImage's rules): a unique config blob and one layer, so a unique digest.

        ``tags``: one tag, a list, or None / ``[]`` for an untagged image; a tag naming another
        image moves to this one (an immutable tag raises
        ``FakeError("ImageTagAlreadyExistsException", ...)``). ``size`` is ``imageSizeInBytes``
        (config blob + layer; default 2 MiB; it must exceed the config blob's size).
        ``pushed_at`` (epoch seconds) or ``pushed_days_ago`` (days before the fake's now) set
        ``imagePushedAt`` (``pushed_at`` wins). ``format`` is ``"oci"`` or ``"docker"`` (Docker
        image manifest v2 schema 2). The repository must exist (KeyError otherwise).
        ``platforms`` (e.g. ``["linux/amd64", "linux/arm64"]``) makes a multi-arch image: one
        untagged image per platform, then an OCI index (a Docker manifest list with
        ``format="docker"``) carrying the tags. ``findings`` are what a scan of this image reports
        (ImageScanFinding dicts for basic scans, enhanced finding dicts for enhanced ones),
        instead of asking the findings hook; a :class:`ScanFailure` (such as
        ``UNSUPPORTED_IMAGE``) makes its scans end without findings. ``referrers`` attaches
        artifacts through ``subject``: artifact types, or dicts of :meth:`push_artifact` arguments.
        """
        tag_list = [tags] if isinstance(tags, str) else list(tags or [])
        if pushed_at is None and pushed_days_ago is not None:
            pushed_at = self.clock.now() - pushed_days_ago * SECONDS_PER_DAY
        with self._lock:
            self.repository(repository, account, region)  # fail before building anything
            *platform_images, top = synthetic.build_images(
                f"{repository}#{next(self._image_counter)}", size, format, platforms or ()
            )
            # Findings belong to the images that have layers: the platform images of an index.
            children = tuple(
                self._push(repository, b, [], pushed_at, findings, account, region).digest
                for b in platform_images
            )
            top_findings = None if children else findings
            pushed = self._push(repository, top, tag_list, pushed_at, top_findings, account, region, children)
            for spec in referrers:
                kwargs = {"artifact_type": spec} if isinstance(spec, str) else dict(spec)
                self.push_artifact(repository, pushed.digest, account=account, region=region, **kwargs)
        return pushed

    def push_images(
        self,
        repository: str,
        count: int,
        *,
        size: int | None = None,
        tag: str | None = None,
        pushed_at: float | None = None,
        format: str = "oci",
        account: str | None = None,
        region: str | None = None,
    ) -> list[str]:
        """Seed ``count`` distinct synthetic images at once; their digests, in push order.

        The images are what :meth:`push_image` makes (valid manifests, a unique config each, a
        filler layer shared by images of one size), stored by PutImage's rules, but under one lock
        and without building a :class:`PushedImage` each: for large registries. ``tag`` is a
        format string of the image's index ``n`` (``"v{n}"``); without it the images are untagged.
        """
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        with self._lock:
            repo = self.repository(repository, account, region)

            def build() -> synthetic.SyntheticImage:
                return synthetic.build(f"{repository}#{next(self._image_counter)}", size, format)

            return seeding.store_many(self.context(account, region), repo, count, build, tag, pushed_at)

    def push_artifact(
        self,
        repository: str,
        subject: str,
        artifact_type: str = "application/vnd.dev.cosign.artifact.sig.v1+json",
        *,
        tags: Sequence[str] | str | None = None,
        payload: bytes | None = None,
        annotations: dict[str, str] | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> PushedImage:
        """Push an OCI 1.1 artifact (a signature, an SBOM...) that refers to the image ``subject``
        (a digest) of the repository, as ``oras attach`` or ``cosign`` do."""
        with self._lock:
            repo = self.repository(repository, account, region)
            target = repo.images.get(subject)
            if target is None:
                raise FakeError("ImageNotFoundException", f"no image {subject} in repository {repository!r}")
            # Each artifact is distinct unless the caller gives the same payload twice.
            body = (
                payload
                if payload is not None
                else f"{artifact_type} #{next(self._image_counter)} for {subject}".encode()
            )
            artifact = synthetic.build_artifact(
                subject, target.media_type, len(target.manifest.encode()), artifact_type, body, annotations
            )
            tag_list = [tags] if isinstance(tags, str) else list(tags or [])
            return self._push(repository, artifact, tag_list, account=account, region=region)

    def import_oci_layout(
        self,
        repository: str,
        path: str | os.PathLike[str],
        tags: Sequence[str] | str | None = None,
        *,
        account: str | None = None,
        region: str | None = None,
    ) -> list[PushedImage]:
        """Push the images of an OCI image layout directory (``skopeo copy ... oci:DIR``, umoci)
        byte for byte: blobs, then manifests (an index's children first). Each top-level image
        is tagged with its ``org.opencontainers.image.ref.name``, or with ``tags`` if given."""
        from .oci_layout import LayoutManifest, read_layout

        override = [tags] if isinstance(tags, str) else list(tags) if tags is not None else None

        def push(item: LayoutManifest, tag_list: list[str]) -> PushedImage:
            children = tuple(push(child, []).digest for child in item.children)
            image = synthetic.SyntheticImage(item.text, item.media_type, item.blobs)
            repo = self.repository(repository, account, region)
            existing = repo.images.get(manifests.digest_of(item.text))
            if existing is not None and not tag_list:  # shared child already pushed
                return PushedImage(
                    repository,
                    existing.digest,
                    tuple(existing.tags),
                    existing.size,
                    existing.manifest,
                    existing.media_type,
                    existing.pushed_at,
                    children,
                )
            return self._push(repository, image, tag_list, account=account, region=region, children=children)

        with self._lock:
            return [
                push(item, override if override is not None else [item.ref_name] if item.ref_name else [])
                for item in read_layout(path)
            ]

    def run_lifecycle(
        self, repository: str | None = None, *, account: str | None = None, region: str | None = None
    ) -> list[LifecycleAction]:
        """Apply the stored lifecycle policies now, as ECR's scheduled evaluation would (the fake
        also applies them by itself once a day of virtual time has passed). Only ``repository``
        if given, else every repository of ``account`` in ``region`` that has a policy. Returns
        what was done."""
        from .service.lifecycle import evaluate_policy

        with self._lock:
            self.settle_due()
            if repository is not None:
                repos = [self.repository(repository, account, region)]
            else:
                reg = self.store.registry(account or self.account_id, region or self.region)
                repos = list(reg.repositories.values())
            done: list[LifecycleAction] = []
            for repo in repos:
                done.extend(evaluate_policy(self.context(repo.registry_id, repo.region), repo))
            return done

    def upstream_image(
        self,
        registry_url: str,
        repository: str,
        tags: Sequence[str] | str = "latest",
        *,
        platforms: Sequence[str] = (),
        size: int | None = None,
        format: str = "oci",
    ) -> str:
        """Put a synthetic image in the fake upstream registry ``registry_url`` (for example
        ``registry-1.docker.io``), repository ``repository``, under ``tags``, for pull-through cache
        rules to pull (see :doc:`pull_through_cache`). ``platforms`` makes it multi-arch. Returns
        its digest."""
        image = upstreams.UpstreamImage(
            synthetic.build_images(self._upstream_unique(registry_url, repository), size, format, platforms)
        )
        with self._lock:
            for tag in [tags] if isinstance(tags, str) else tags:
                self.store.upstreams.add(registry_url, repository, tag, image)
        return upstreams.manifest_digest(image)

    def _upstream_unique(self, registry_url: str, repository: str) -> str:
        """What makes each upstream image distinct (its config's label)."""
        return f"upstream:{registry_url}/{repository}#{next(self._image_counter)}"

    def upstream_failure(self, registry_url: str, repository: str, code: str) -> None:
        """Make every pull of ``repository`` from ``registry_url`` fail with ``code``
        (``UpstreamAccessDenied``, ``UpstreamTooManyRequests`` or ``UpstreamUnavailable``)."""
        if code not in upstreams.UPSTREAM_FAILURES:
            raise ValueError(f"code must be one of {', '.join(upstreams.UPSTREAM_FAILURES)}, got {code!r}")
        with self._lock:
            self.store.upstreams.failures[(registry_url, repository)] = code

    def upstream_provider(
        self, supply: Callable[[upstreams.UpstreamRequest], dict[str, Any] | None]
    ) -> upstreams.UpstreamProvider:
        """An ``Options.upstream_images`` provider from ``supply``, which answers a request with
        :meth:`upstream_image` options (or None: the upstream has no such image)."""

        def provide(request: upstreams.UpstreamRequest) -> upstreams.UpstreamImage | None:
            spec = supply(request)
            if spec is None:
                return None
            unique = self._upstream_unique(request.registry_url, request.repository)
            return upstreams.UpstreamImage(
                synthetic.build_images(
                    unique, spec.get("size"), spec.get("format", "oci"), spec.get("platforms", ())
                )
            )

        return provide

    # -- snapshots ------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The whole state of this fake now, to :meth:`restore` into this or another fake of the
        same account and region, any number of times (see :doc:`snapshots`). Taking one copies
        the state once; nothing done afterwards changes it."""
        with self._lock:
            return take_snapshot(self)

    def restore(self, state: Snapshot) -> None:
        """Make this fake's state ``state``'s (repositories, images, policies, settings, pending
        work, events, the clock's offset), replacing what it held; the call log, fault rules and
        ``options`` stay the test's. It costs O(repositories), not O(images): each repository is
        copied from the snapshot on first use, so the snapshot never changes (see
        :doc:`snapshots`)."""
        restore_snapshot(self, state)

    #: Create repositories, push images and seed upstream registries as the ``ecr_seed`` marker
    #: describes (:func:`pytest_ecr.seeding.seed`, with this fake as its target).
    seed = seeding.seed
