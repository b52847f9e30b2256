"""What a handler knows about the request it serves: who, where, when, and the state."""

from __future__ import annotations

from dataclasses import dataclass

from ..clock import Clock
from ..store import Registry, Repository, Store
from .errors import RepositoryNotFoundException


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


@dataclass
class Context:
    store: Store
    clock: Clock
    account: str
    region: str

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    def registry_id(self, registry_id: str | None) -> str:
        return registry_id or self.account

    def registry(self, registry_id: str | None = None) -> Registry:
        return self.store.registry(self.registry_id(registry_id), self.region)

    def repository(self, name: str, registry_id: str | None = None) -> Repository:
        reg = self.registry(registry_id)
        repo = reg.repositories.get(name)
        if repo is None:
            raise RepositoryNotFoundException.named(name, reg.account)
        return repo
