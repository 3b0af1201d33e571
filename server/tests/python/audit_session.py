"""A boto3 session of every operation, for the audit log test (server/tests/audit.rs).

Environment: STRONGROOM_ENDPOINT, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (alice's), and
WRONG_SECRET (a secret access key that does not match, for one refused request), and
CANARY (a value that must appear nowhere in the audit log). Prints one line per call:
`<operation> ok` or `<operation> <error code>`.
"""

import os

import boto3
import botocore.config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["STRONGROOM_ENDPOINT"]
CANARY = os.environ["CANARY"]
CONFIG = botocore.config.Config(retries={"max_attempts": 1})


def client(secret=None):
    kwargs = {}
    if secret is not None:
        kwargs = {
            "aws_access_key_id": os.environ["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": secret,
        }
    return boto3.client(
        "secretsmanager",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        config=CONFIG,
        **kwargs,
    )


sm = client()


def call(operation, fn):
    try:
        fn()
        print(f"{operation} ok", flush=True)
    except ClientError as e:
        print(f"{operation} {e.response['Error']['Code']}", flush=True)


call("CreateSecret", lambda: sm.create_secret(Name="audited/db", SecretString=CANARY))
call("PutSecretValue", lambda: sm.put_secret_value(SecretId="audited/db", SecretString=CANARY + "-2"))
call("GetSecretValue", lambda: sm.get_secret_value(SecretId="audited/db"))
call("DescribeSecret", lambda: sm.describe_secret(SecretId="audited/db"))
call("ListSecrets", lambda: sm.list_secrets())
call("ListSecretVersionIds", lambda: sm.list_secret_version_ids(SecretId="audited/db"))
call("BatchGetSecretValue", lambda: sm.batch_get_secret_value(SecretIdList=["audited/db"]))
call("UpdateSecret", lambda: sm.update_secret(SecretId="audited/db", Description="audited"))
call("TagResource", lambda: sm.tag_resource(SecretId="audited/db", Tags=[{"Key": "team", "Value": "a"}]))
call("UntagResource", lambda: sm.untag_resource(SecretId="audited/db", TagKeys=["team"]))
call("GetRandomPassword", lambda: sm.get_random_password(PasswordLength=20))
call("GetSecretValue", lambda: sm.get_secret_value(SecretId="audited/missing"))
call("DeleteSecret", lambda: sm.delete_secret(SecretId="audited/db"))
call("RestoreSecret", lambda: sm.restore_secret(SecretId="audited/db"))
call("GetSecretValue", lambda: client(os.environ["WRONG_SECRET"]).get_secret_value(SecretId="audited/db"))
# A value of the wrong type: the server cannot parse it, and must not keep it in its log.
unchecked = boto3.client(
    "secretsmanager",
    endpoint_url=ENDPOINT,
    region_name="us-east-1",
    config=botocore.config.Config(retries={"max_attempts": 1}, parameter_validation=False),
)
call(
    "PutSecretValue",
    lambda: unchecked.put_secret_value(SecretId="audited/db", SecretString=int(os.environ["NUMERIC_CANARY"])),
)
