"""Snapshots of a fake's state: seed once, start many tests from the same state (``FakeECR.snapshot``
and ``FakeECR.restore``).

A :class:`Snapshot` is a private deep copy of the store taken once; nothing a fake does reaches
it. A restore makes the fake's store a thin overlay on it, and copies lazily:

* each registry's repositories are a :class:`CopyOnAccess` dict: a repository is copied, with its
  images, tags and blobs, the first time anything looks it up; until then the dict holds a
  :class:`SharedRepository` placeholder, so a restore costs O(repositories), not O(images). Any
  path that reaches a placeholder without going through the dict's accessors (``dict.values(d)``,
  ``{**d}``) fails on its first attribute with :class:`SnapshotLeak`: state is never silently
  shared between a snapshot and a test;
* the agenda shares the snapshot's jobs and copies each one when it is run or listed;
* built events are copied when the log is first read.

Every copy made for one restore goes through one ``copy.deepcopy`` memo, so objects that the
state shares stay shared in the copy (a scan job's ``Scan`` is the image's ``scan``, a
replication's images and backfill are the repository's and the registry's).

Not in a snapshot (what belongs to the test, not to ECR): the call log, fault rules,
``options``, the access keys of clients, and a clock freeze (the offset that ``advance`` added is
restored).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from .agenda import Job
from .clock import Clock
from .store import Registry, Repository, Store

Memo = dict[int, Any]


class FakeECR(Protocol):
    """What a snapshot takes from and restores into (:class:`pytest_ecr.FakeECR`, which imports
    this module)."""

    account_id: str
    region: str
    store: Store
    clock: Clock
    _lock: Any
    _image_counter: Any

    def settle_due(self) -> None: ...


class SnapshotLeak(RuntimeError):
    """A repository still shared with a snapshot was reached without being copied (a bug in
    pytest-ecr: it would have let a test change the snapshot)."""


class SharedRepository:
    """Where a restored registry keeps a repository it has not copied yet."""

    __slots__ = ("_snapshot_repository",)

    def __init__(self, repository: Repository) -> None:
        self._snapshot_repository = repository

    def __getattr__(self, name: str) -> NoReturn:
        raise SnapshotLeak(
            f"repository {self._snapshot_repository.name!r} of a restored snapshot was read "
            f"({name!r}) without being copied first; please report this pytest-ecr bug"
        )

    def __repr__(self) -> str:
        return f"<repository {self._snapshot_repository.name!r} shared with a snapshot>"


class CopyOnAccess(dict[str, Repository]):
    """A registry's repositories after a restore: each is copied from the snapshot on its first
    look-up (by name, ``get``, ``values``, ``items``, ``pop``...). Names (``in``, ``len``,
    iteration, ``sorted``) cost no copy."""

    def __init__(self, shared: dict[str, Repository], memo: Memo) -> None:
        super().__init__()
        for name, repository in shared.items():
            placeholder: Any = SharedRepository(repository)
            dict.__setitem__(self, name, placeholder)
        self._memo = memo

    def _own(self, name: str) -> Repository:
        value: Any = dict.__getitem__(self, name)
        if type(value) is SharedRepository:
            value = copy.deepcopy(value._snapshot_repository, self._memo)
            dict.__setitem__(self, name, value)
        return value  # type: ignore[no-any-return]

    def _own_all(self) -> None:
        for name in list(self):
            self._own(name)

    def shared(self, name: str) -> Repository | None:
        """The snapshot's repository ``name`` if it was not copied yet (for a new snapshot, which
        may share it too: snapshots never change)."""
        value: Any = dict.get(self, name)
        return value._snapshot_repository if type(value) is SharedRepository else None

    def __getitem__(self, name: str) -> Repository:
        return self._own(name)

    def get(self, name: str, default: Any = None) -> Any:
        return self._own(name) if name in self else default

    def values(self) -> Any:
        self._own_all()
        return super().values()

    def items(self) -> Any:
        self._own_all()
        return super().items()

    def pop(self, name: str, *default: Any) -> Any:
        if name in self:
            self._own(name)
        return super().pop(name, *default)

    def popitem(self) -> tuple[str, Repository]:
        self._own_all()
        return super().popitem()

    def setdefault(self, name: str, default: Any = None) -> Any:
        if name in self:
            return self._own(name)
        return super().setdefault(name, default)

    def copy(self) -> dict[str, Repository]:
        self._own_all()
        return dict(super().items())

    def __iter__(self) -> Iterator[str]:  # overridden so that dict(d) and {**d} use __getitem__
        return super().__iter__()

    def __eq__(self, other: object) -> bool:
        self._own_all()
        return super().__eq__(other)

    __hash__ = None

    def __reduce__(self) -> Any:  # copy / pickle: a plain dict of copied repositories
        return (dict, (self.copy(),))

    def __deepcopy__(self, memo: Memo) -> dict[str, Repository]:
        return {name: copy.deepcopy(self._own(name), memo) for name in list(self)}


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: it is a value of its own
class Snapshot:
    """The whole state of a fake at one moment (:meth:`FakeECR.snapshot`): repositories, images,
    tags, blobs, uploads, policies and every registry setting, authorization tokens, upstream
    registries, the agenda of pending work (scans, restores, replications, signing, lifecycle
    runs and previews), the events, and the clock's offset. Restore it with
    :meth:`FakeECR.restore`, any number of times, into any fake of the same account and region;
    it never changes."""

    account: str
    region: str
    #: the fake's virtual time when the snapshot was taken (epoch seconds)
    taken_at: float
    clock_offset: float
    registries: dict[tuple[str, str], Registry]
    tokens: dict[str, Any]
    upstreams: Any
    #: the agenda's heap entries, and the ids of their jobs (those a restored agenda copies)
    jobs: tuple[tuple[float, int, Job], ...]
    job_ids: frozenset[int]
    next_job_seq: int
    next_seq: int
    #: the event log's raw state (see :meth:`pytest_ecr.events.EventLog.export`)
    events: tuple[Any, ...]
    next_image: int

    @property
    def images(self) -> int:
        """How many images the snapshot holds, over every registry."""
        return sum(len(r.images) for reg in self.registries.values() for r in reg.repositories.values())

    def __repr__(self) -> str:
        repositories = sum(len(reg.repositories) for reg in self.registries.values())
        return f"<Snapshot of {repositories} repositories, {self.images} images, taken at {self.taken_at}>"


#: values a copy can share (immutable, holding nothing mutable)
_ATOMS = (str, int, float, bool, type(None))


def _deep(value: Any, memo: Memo) -> Any:
    """``copy.deepcopy(value, memo)``, with a C-speed path for a list of plain values (a
    registry's scan start times: one per scanned push)."""
    if id(value) in memo:
        return memo[id(value)]
    if type(value) is list and all(type(item) in _ATOMS for item in value):
        done = memo[id(value)] = list(value)
        return done
    return copy.deepcopy(value, memo)


def _registry_copy(reg: Registry, memo: Memo, repositories: dict[str, Repository]) -> Registry:
    """``reg`` deep-copied through ``memo``, with ``repositories`` instead of its own."""
    new = copy.copy(reg)
    for f in dataclasses.fields(reg):
        if f.name != "repositories":
            setattr(new, f.name, _deep(getattr(reg, f.name), memo))
    new.repositories = repositories
    return new


def _referred(job: Job) -> list[tuple[str, str, str]]:
    """The repositories (account, region, name) whose objects a job's payload may hold: the
    job's own (repository jobs carry its name first), or a replication's source and destination."""
    payload = job.payload
    if isinstance(payload, tuple) and payload and isinstance(payload[0], str):
        return [(job.account, job.region, payload[0])]
    repository = getattr(payload, "repository", "")
    if not repository:
        return []
    source = (payload.source_account, payload.source_region, repository)
    return [source, (*payload.destination, repository)]


def _counter_value(owner: Any, attribute: str) -> int:
    """The next number of the counter ``owner.attribute``, which goes on from it unchanged."""
    value = next(getattr(owner, attribute))
    setattr(owner, attribute, itertools.count(value))
    return int(value)


def take_snapshot(fake: FakeECR) -> Snapshot:
    """A snapshot of ``fake``'s state, as a request would see it now (due work applied first).
    Repositories still shared with a snapshot the fake was restored from are shared again
    (snapshots never change); everything else is copied."""
    fake.settle_due()
    store = fake.store
    memo: Memo = {}
    # Jobs still shared with the snapshot the fake was restored from are copied into the fake
    # first, and so is every repository a job refers to: a job's payload and its repository must
    # come out of one copy, or the job would no longer find its scan, policy or images.
    entries = store.agenda.entries()
    for _, _, job in entries:
        for account, region, name in _referred(job):
            reg = store.registries.get((account, region))
            if reg is not None and name in reg.repositories:
                reg.repositories[name]  # the look-up is the copy
    registries = {}
    for key, reg in store.registries.items():
        repositories: dict[str, Repository] = {}
        for name in reg.repositories:
            shared = reg.repositories.shared(name) if isinstance(reg.repositories, CopyOnAccess) else None
            repositories[name] = shared or copy.deepcopy(reg.repositories[name], memo)
        registries[key] = _registry_copy(reg, memo, repositories)
    jobs = tuple((due, seq, copy.deepcopy(job, memo)) for due, seq, job in entries)
    return Snapshot(
        account=fake.account_id,
        region=fake.region,
        taken_at=fake.clock.now(),
        clock_offset=fake.clock.offset,
        registries=registries,
        tokens=copy.deepcopy(store.tokens, memo),
        upstreams=copy.deepcopy(store.upstreams, memo),
        jobs=jobs,
        job_ids=frozenset(id(job) for _, _, job in jobs),
        next_job_seq=_counter_value(store.agenda, "_seq"),
        next_seq=_counter_value(store, "_seq"),
        events=copy.deepcopy(store.events.export(), memo),
        next_image=_counter_value(fake, "_image_counter"),
    )


def restore_snapshot(fake: FakeECR, snapshot: Snapshot) -> None:
    """Make ``fake``'s state ``snapshot``'s: O(repositories + jobs + events) pointer copies; a
    repository is copied when first used, a job when run, the events when read."""
    if not isinstance(snapshot, Snapshot):
        raise TypeError(f"restore() takes a Snapshot from FakeECR.snapshot(), not {type(snapshot).__name__}")
    if (snapshot.account, snapshot.region) != (fake.account_id, fake.region):
        raise ValueError(
            f"this snapshot was taken of a fake of account {snapshot.account} in {snapshot.region}; "
            f"this fake is account {fake.account_id} in {fake.region} (its tests would not see the "
            "snapshot's default registry): seed the snapshot with the same account_id and region"
        )
    memo: Memo = {}
    store: Store = fake.store
    with fake._lock:
        store.registries = {
            key: _registry_copy(reg, memo, CopyOnAccess(reg.repositories, memo))
            for key, reg in snapshot.registries.items()
        }
        store.tokens = copy.deepcopy(snapshot.tokens, memo)
        store.upstreams = copy.deepcopy(snapshot.upstreams, memo)
        store.agenda.adopt(snapshot.jobs, snapshot.job_ids, memo, snapshot.next_job_seq)
        store._seq = itertools.count(snapshot.next_seq)
        store.replicating = False
        store.events.adopt(snapshot.events, memo)
        # synthetic images made from now on must differ from the snapshot's and from the fake's own
        fake._image_counter = itertools.count(
            max(snapshot.next_image, _counter_value(fake, "_image_counter"))
        )
        fake.clock.offset = snapshot.clock_offset
