"""A pytest plugin for running moto's secretsmanager tests against a strongroom server.

moto's own server is reset between tests through its private `/moto-api/reset`; strongroom has
no such back door, so this plugin empties the store through the public API before each test:
every secret of every region the tests use, scheduled for deletion or not, is force-deleted.
It also stands in for the fixtures of moto's `tests/conftest.py` (run with `--noconftest`):
`account_id` is the account the server is started with, without asking STS.
"""

import os

import boto3
import pytest

REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1"]


def _client(region):
    return boto3.client(
        "secretsmanager",
        region_name=region,
        endpoint_url=os.environ["TEST_SERVER_MODE_ENDPOINT"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _empty_store():
    for region in REGIONS:
        client = _client(region)
        for page in client.get_paginator("list_secrets").paginate(
            IncludePlannedDeletion=True
        ):
            for secret in page["SecretList"]:
                client.delete_secret(
                    SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True
                )


@pytest.fixture(autouse=True)
def strongroom_empty_store():
    _empty_store()
    yield


@pytest.fixture
def account_id():
    return os.environ.get("STRONGROOM_ACCOUNT_ID", "123456789012")


@pytest.fixture
def set_custom_id():
    pytest.skip(
        "set_custom_id overrides ids inside moto's own process; a server chooses its own ids"
    )
