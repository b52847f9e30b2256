"""Server mode: the fake's ECR JSON API and OCI Distribution API over real HTTP (stdlib only)."""

from __future__ import annotations

from .http import EcrServer, LoggedRequest

__all__ = ["EcrServer", "LoggedRequest"]
