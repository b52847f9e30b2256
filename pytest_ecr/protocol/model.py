"""botocore's ECR service model, loaded once per process."""

from __future__ import annotations

import functools

from botocore.loaders import create_loader
from botocore.model import OperationModel, ServiceModel

TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."


@functools.cache
def service_model() -> ServiceModel:
    data = create_loader().load_service_model("ecr", "service-2")
    return ServiceModel(data, service_name="ecr")


@functools.cache
def operation(name: str) -> OperationModel:
    return service_model().operation_model(name)


@functools.cache
def operation_names() -> frozenset[str]:
    return frozenset(service_model().operation_names)


@functools.cache
def _error_codes(name: str) -> frozenset[str]:
    return frozenset(shape.name for shape in operation(name).error_shapes)


def error_codes(op: OperationModel) -> frozenset[str]:
    """The error shapes the model lists for ``op``."""
    return _error_codes(op.name)
