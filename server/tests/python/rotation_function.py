#!/usr/bin/env python3
"""A rotation function written as for AWS Lambda, in the shape of AWS's rotation template
(`SecretsManagerRotationTemplate/lambda_function.py`): `lambda_handler(event, context)` checks
how the version is staged, then runs createSecret, setSecret, testSecret or finishSecret through
a boto3 Secrets Manager client built from the environment (`SECRETS_MANAGER_ENDPOINT`, as AWS's
templates do). Nothing in it knows about strongroom: the server runs it as a command, with the
Lambda event as JSON on standard input (the `__main__` block at the end).

The "target system" is a JSON file standing in for a database: `{"passwords": {user: [accepted
passwords]}, "steps": [[step, token], ...]}`. Its path is in the secret's value, like the host of
a database in an RDS secret: `{"username", "password", "target"}`. Every invocation appends its
step to "steps", so a test can check which steps ran, in which order. A secret value with
`"fail_step": "<step>"` makes that step fail (the target "refuses" it).
"""

import json
import logging
import os
import sys

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    arn = event["SecretId"]
    token = event["ClientRequestToken"]
    step = event["Step"]

    service_client = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"])

    # Make sure the version is staged correctly.
    metadata = service_client.describe_secret(SecretId=arn)
    if not metadata["RotationEnabled"]:
        logger.error("Secret %s is not enabled for rotation", arn)
        raise ValueError("Secret %s is not enabled for rotation" % arn)
    versions = metadata["VersionIdsToStages"]
    if token not in versions:
        logger.error("Secret version %s has no stage for rotation of secret %s.", token, arn)
        raise ValueError("Secret version %s has no stage for rotation of secret %s." % (token, arn))
    if "AWSCURRENT" in versions[token]:
        logger.info("Secret version %s already set as AWSCURRENT for secret %s.", token, arn)
        return
    elif "AWSPENDING" not in versions[token]:
        logger.error("Secret version %s not set as AWSPENDING for rotation of secret %s.", token, arn)
        raise ValueError("Secret version %s not set as AWSPENDING for rotation of secret %s." % (token, arn))

    if step == "createSecret":
        create_secret(service_client, arn, token)
    elif step == "setSecret":
        set_secret(service_client, arn, token)
    elif step == "testSecret":
        test_secret(service_client, arn, token)
    elif step == "finishSecret":
        finish_secret(service_client, arn, token)
    else:
        raise ValueError("Invalid step parameter")


def create_secret(service_client, arn, token):
    """Generate a new password and put it as the AWSPENDING version's value, unless that version
    already has one."""
    current = json.loads(service_client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    record_step(current, "createSecret", token)
    try:
        service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        logger.info("createSecret: Successfully retrieved secret for %s.", arn)
    except service_client.exceptions.ResourceNotFoundException:
        exclude_characters = os.environ.get("EXCLUDE_CHARACTERS", "/@\"'\\")
        passwd = service_client.get_random_password(ExcludeCharacters=exclude_characters)
        pending = dict(current, password=passwd["RandomPassword"])
        service_client.put_secret_value(
            SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(pending), VersionStages=["AWSPENDING"]
        )
        logger.info("createSecret: Successfully put secret for ARN %s and version %s.", arn, token)


def set_secret(service_client, arn, token):
    """Make the target accept the AWSPENDING password (the old one stays accepted)."""
    pending = pending_value(service_client, arn, token)
    record_step(pending, "setSecret", token)
    maybe_fail(pending, "setSecret")
    target = load_target(pending)
    accepted = target["passwords"].setdefault(pending["username"], [])
    if pending["password"] not in accepted:
        accepted.append(pending["password"])
    save_target(pending, target)


def test_secret(service_client, arn, token):
    """Log in to the target with the AWSPENDING password."""
    pending = pending_value(service_client, arn, token)
    record_step(pending, "testSecret", token)
    maybe_fail(pending, "testSecret")
    accepted = load_target(pending)["passwords"].get(pending["username"], [])
    if pending["password"] not in accepted:
        raise ValueError("testSecret: the target refuses the AWSPENDING password of %s" % arn)


def finish_secret(service_client, arn, token):
    """Move AWSCURRENT to the AWSPENDING version (the old version becomes AWSPREVIOUS)."""
    pending = pending_value(service_client, arn, token)
    record_step(pending, "finishSecret", token)
    maybe_fail(pending, "finishSecret")
    metadata = service_client.describe_secret(SecretId=arn)
    current_version = None
    for version in metadata["VersionIdsToStages"]:
        if "AWSCURRENT" in metadata["VersionIdsToStages"][version]:
            if version == token:
                logger.info("finishSecret: Version %s already marked as AWSCURRENT for %s", version, arn)
                return
            current_version = version
            break
    service_client.update_secret_version_stage(
        SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current_version
    )
    logger.info("finishSecret: Successfully set AWSCURRENT stage to version %s for secret %s.", token, arn)


def pending_value(service_client, arn, token):
    response = service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    return json.loads(response["SecretString"])


def maybe_fail(value, step):
    if value.get("fail_step") == step:
        raise ValueError("%s: the target refused the new password (as this test asked)" % step)


def load_target(value):
    with open(value["target"], encoding="utf-8") as f:
        return json.load(f)


def save_target(value, target):
    tmp = value["target"] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(target, f)
    os.replace(tmp, value["target"])


def record_step(value, step, token):
    target = load_target(value)
    target.setdefault("steps", []).append([step, token])
    save_target(value, target)


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    lambda_handler(json.load(sys.stdin), None)
