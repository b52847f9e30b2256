"""Fakes stopped out of order restore the process exactly (found by running the suite in random order)."""

from __future__ import annotations

import os

import boto3
import botocore.endpoint
import pytest

from pytest_ecr import FakeECR
from pytest_ecr.transport import NetworkBlocked


@pytest.mark.parametrize("stop_first", ["outer", "inner"])
def test_out_of_order_stop_restores_network_env_and_default_session(monkeypatch, stop_first):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    monkeypatch.delenv("AWS_CONFIG_FILE", raising=False)
    send, session = botocore.endpoint.Endpoint._send, boto3.DEFAULT_SESSION
    outer, inner = FakeECR().start(), FakeECR().start()
    (outer if stop_first == "outer" else inner).stop()
    # The other fake is still active: still isolated, still blocking, still answering.
    assert os.environ["AWS_ACCESS_KEY_ID"] != "AKIAREALKEY"
    assert os.path.dirname(os.environ["AWS_CONFIG_FILE"])
    with pytest.raises(NetworkBlocked):
        boto3.client("s3", region_name="us-east-1").list_buckets()
    (inner if stop_first == "outer" else outer).stop()
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAREALKEY"
    assert "AWS_CONFIG_FILE" not in os.environ
    assert botocore.endpoint.Endpoint._send is send
    assert boto3.DEFAULT_SESSION is session
