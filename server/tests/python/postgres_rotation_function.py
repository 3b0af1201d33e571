#!/usr/bin/env python3
"""A PostgreSQL rotation function written as for AWS Lambda, in the shape of AWS's templates
`SecretsManagerRDSPostgreSQLRotationSingleUser` and `SecretsManagerRDSPostgreSQLRotationMultiUser`
(`lambda_function.py`): `lambda_handler(event, context)` checks how the version is staged, then
runs createSecret, setSecret, testSecret or finishSecret through a boto3 Secrets Manager client
built from the environment (boto3 reads `AWS_ENDPOINT_URL`, the region and the credentials
itself). Nothing in it knows about strongroom: the server runs it as a command, once per step,
with the Lambda event as JSON on standard input (the `__main__` block at the end).

The strategy, which on AWS is the choice of template, is the first argument:

- `single-user`: one role; setSecret logs in with AWSCURRENT (else AWSPREVIOUS) and changes the
  role's own password. Between setSecret and finishSecret the database accepts only AWSPENDING.
- `alternating-users`: two roles, `X` and `X_clone`, take turns; setSecret logs in as the admin
  of the secret named by `masterarn` and changes the password of the role that is *not* current,
  creating `X_clone` on first use as a member of `X` (so it has X's privileges).

The secret's value is AWS's JSON for a database: `engine` (`postgres`), `host`, `port`,
`username`, `password`, `dbname`, and `masterarn` for alternating users.

Differences from the templates, which use PyGreSQL: this uses `pg8000` (pure Python), which
binds parameters on the server, where `ALTER ROLE ... PASSWORD $1` is not allowed; so the
password is sent as a SCRAM-SHA-256 verifier computed here, quoted as a literal (no statement
carries the password itself, not even in the database's log). No TLS (the test database has
none). Neither the passwords nor the verifiers are ever logged or printed.
"""

import base64
import hashlib
import hmac
import json
import logging
import os
import sys

import boto3
import pg8000.native

logger = logging.getLogger()
logger.setLevel(logging.INFO)

SINGLE_USER = "single-user"
ALTERNATING_USERS = "alternating-users"
STRATEGY = None
CLONE_SUFFIX = "_clone"
MAX_ROLE_NAME = 63
CONNECT_TIMEOUT_SECONDS = 5


def lambda_handler(event, context):
    arn = event["SecretId"]
    token = event["ClientRequestToken"]
    step = event["Step"]
    if STRATEGY not in (SINGLE_USER, ALTERNATING_USERS):
        raise ValueError("Unknown rotation strategy %r: expected %s or %s" % (STRATEGY, SINGLE_USER, ALTERNATING_USERS))

    # Setup the client: endpoint, region and credentials come from the environment.
    service_client = boto3.client("secretsmanager")

    # Make sure the version is staged correctly
    metadata = service_client.describe_secret(SecretId=arn)
    if "RotationEnabled" in metadata and not metadata["RotationEnabled"]:
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
        if STRATEGY == SINGLE_USER:
            set_secret_single_user(service_client, arn, token)
        else:
            set_secret_alternating_users(service_client, arn, token)
    elif step == "testSecret":
        test_secret(service_client, arn, token)
    elif step == "finishSecret":
        finish_secret(service_client, arn, token)
    else:
        logger.error("lambda_handler: Invalid step parameter %s for secret %s", step, arn)
        raise ValueError("Invalid step parameter %s for secret %s" % (step, arn))


def create_secret(service_client, arn, token):
    """Put a new password (and, for alternating users, the other username) as the AWSPENDING
    version's value, unless that version already has one."""
    # Make sure the current secret exists
    current_dict = get_secret_dict(service_client, arn, "AWSCURRENT")

    # Now try to get the secret version, if that fails, put a new secret
    try:
        get_secret_dict(service_client, arn, "AWSPENDING", token)
        logger.info("createSecret: Successfully retrieved secret for %s.", arn)
    except service_client.exceptions.ResourceNotFoundException:
        if STRATEGY == ALTERNATING_USERS:
            current_dict["username"] = get_alt_username(current_dict["username"])
        passwd = service_client.get_random_password(ExcludeCharacters=os.environ.get("EXCLUDE_CHARACTERS", "/@\"'\\"))
        current_dict["password"] = passwd["RandomPassword"]
        service_client.put_secret_value(
            SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(current_dict), VersionStages=["AWSPENDING"]
        )
        logger.info("createSecret: Successfully put secret for ARN %s and version %s.", arn, token)


def set_secret_single_user(service_client, arn, token):
    """Set the AWSPENDING password as the role's own password, logged in as the role."""
    # First try to login with the pending secret, if it succeeds, return
    pending_dict = get_secret_dict(service_client, arn, "AWSPENDING", token)
    conn = get_connection(pending_dict)
    if conn:
        conn.close()
        logger.info("setSecret: AWSPENDING secret is already set as password in PostgreSQL DB for secret arn %s.", arn)
        return

    # Make sure the user and the host from current and pending match
    current_dict = get_secret_dict(service_client, arn, "AWSCURRENT")
    if current_dict["username"] != pending_dict["username"]:
        logger.error("setSecret: Attempting to modify user %s other than current user %s", pending_dict["username"], current_dict["username"])
        raise ValueError("Attempting to modify user %s other than current user %s" % (pending_dict["username"], current_dict["username"]))
    if current_dict["host"] != pending_dict["host"]:
        logger.error("setSecret: Attempting to modify user for host %s other than current host %s", pending_dict["host"], current_dict["host"])
        raise ValueError("Attempting to modify user for host %s other than current host %s" % (pending_dict["host"], current_dict["host"]))

    # Now try the current password
    conn = get_connection(current_dict)
    if not conn:
        # If both current and pending do not work, try previous
        try:
            conn = get_connection(get_secret_dict(service_client, arn, "AWSPREVIOUS"))
        except service_client.exceptions.ResourceNotFoundException:
            conn = None

    # If we still don't have a connection, raise a ValueError
    if not conn:
        logger.error("setSecret: Unable to log into database with previous, current, or pending secret of secret arn %s", arn)
        raise ValueError("Unable to log into database with previous, current, or pending secret of secret arn %s" % arn)

    # Now set the password to the pending password
    try:
        alter_password(conn, pending_dict["username"], pending_dict["password"])
        logger.info("setSecret: Successfully set password for user %s in PostgreSQL DB for secret arn %s.", pending_dict["username"], arn)
    finally:
        conn.close()


def set_secret_alternating_users(service_client, arn, token):
    """Set the AWSPENDING password on the role that is not current, logged in as the admin of
    the `masterarn` secret, creating the `_clone` role (a member of the original) on first use."""
    # First try to login with the pending secret, if it succeeds, return
    current_dict = get_secret_dict(service_client, arn, "AWSCURRENT")
    pending_dict = get_secret_dict(service_client, arn, "AWSPENDING", token)
    conn = get_connection(pending_dict)
    if conn:
        conn.close()
        logger.info("setSecret: AWSPENDING secret is already set as password in PostgreSQL DB for secret arn %s.", arn)
        return

    # Make sure the user from current and pending match
    if get_alt_username(current_dict["username"]) != pending_dict["username"]:
        logger.error("setSecret: Attempting to modify user %s other than current user or clone %s", pending_dict["username"], current_dict["username"])
        raise ValueError("Attempting to modify user %s other than current user or clone %s" % (pending_dict["username"], current_dict["username"]))

    # Make sure the host from current and pending match
    if current_dict["host"] != pending_dict["host"]:
        logger.error("setSecret: Attempting to modify user for host %s other than current host %s", pending_dict["host"], current_dict["host"])
        raise ValueError("Attempting to modify user for host %s other than current host %s" % (pending_dict["host"], current_dict["host"]))

    # Before we do anything with the secret, make sure the AWSCURRENT secret is valid by logging in to the db
    # This ensures that the credential we are rotating is valid to protect against a confused deputy attack
    conn = get_connection(current_dict)
    if not conn:
        logger.error("setSecret: Unable to log into database using current credentials for secret %s", arn)
        raise ValueError("Unable to log into database using current credentials for secret %s" % arn)
    conn.close()

    # Use the master arn from the current secret to fetch master secret contents
    master_arn = current_dict["masterarn"]
    master_dict = get_secret_dict(service_client, master_arn, "AWSCURRENT")

    # Fetch dbname from the Child User
    master_dict["dbname"] = current_dict.get("dbname", None)

    if current_dict["host"] != master_dict["host"]:
        logger.error("setSecret: Current database host %s is not the same host as master %s", current_dict["host"], master_dict["host"])
        raise ValueError("Current database host %s is not the same host as master %s" % (current_dict["host"], master_dict["host"]))

    # Now log into the database with the master credentials
    conn = get_connection(master_dict)
    if not conn:
        logger.error("setSecret: Unable to log into database using credentials in master secret %s", master_arn)
        raise ValueError("Unable to log into database using credentials in master secret %s" % master_arn)

    # Now set the password to the pending password, in one transaction
    pending_username = pending_dict["username"]
    current_username = current_dict["username"]
    try:
        conn.run("BEGIN")
        # Check if the user exists, if not create it and grant it all permissions from the current role
        # If the user exists, just update the password
        if not conn.run("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :name", name=pending_username):
            if pending_username != current_username + CLONE_SUFFIX:
                raise ValueError("Role %s does not exist: the rotation creates only the %s role" % (pending_username, CLONE_SUFFIX))
            conn.run(
                "CREATE ROLE %s WITH LOGIN INHERIT PASSWORD %s"
                % (pg8000.native.identifier(pending_username), pg8000.native.literal(scram_verifier(pending_dict["password"])))
            )
            conn.run("GRANT %s TO %s" % (pg8000.native.identifier(current_username), pg8000.native.identifier(pending_username)))
        else:
            alter_password(conn, pending_username, pending_dict["password"])
        conn.run("COMMIT")
        logger.info("setSecret: Successfully set password for %s in PostgreSQL DB for secret arn %s.", pending_username, arn)
    finally:
        conn.close()


def test_secret(service_client, arn, token):
    """Log in with the AWSPENDING secret and run a query."""
    conn = get_connection(get_secret_dict(service_client, arn, "AWSPENDING", token))
    if conn:
        try:
            conn.run("SELECT NOW()")
        finally:
            conn.close()
        logger.info("testSecret: Successfully signed into PostgreSQL DB with AWSPENDING secret in %s.", arn)
        return
    else:
        logger.error("testSecret: Unable to log into database with pending secret of secret ARN %s", arn)
        raise ValueError("Unable to log into database with pending secret of secret ARN %s" % arn)


def finish_secret(service_client, arn, token):
    """Move AWSCURRENT to the AWSPENDING version (the old version becomes AWSPREVIOUS)."""
    # First describe the secret to get the current version
    metadata = service_client.describe_secret(SecretId=arn)
    current_version = None
    for version in metadata["VersionIdsToStages"]:
        if "AWSCURRENT" in metadata["VersionIdsToStages"][version]:
            if version == token:
                # The correct version is already marked as current, return
                logger.info("finishSecret: Version %s already marked as AWSCURRENT for %s", version, arn)
                return
            current_version = version
            break

    # Finalize by staging the secret version current
    service_client.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current_version)
    logger.info("finishSecret: Successfully set AWSCURRENT stage to version %s for secret %s.", token, arn)


def get_connection(secret_dict):
    """A pg8000 connection with the secret's credential, or None if the database refuses it.

    Logs why (the server's message names the user, never the password)."""
    port = int(secret_dict["port"]) if "port" in secret_dict else 5432
    dbname = secret_dict["dbname"] if secret_dict.get("dbname") is not None else "postgres"
    try:
        conn = pg8000.native.Connection(
            user=secret_dict["username"],
            password=secret_dict["password"],
            host=secret_dict["host"],
            port=port,
            database=dbname,
            timeout=CONNECT_TIMEOUT_SECONDS,
        )
        logger.info("Successfully established a connection as user '%s' with host: '%s'", secret_dict["username"], secret_dict["host"])
        return conn
    except pg8000.native.DatabaseError as e:
        fields = e.args[0] if e.args and isinstance(e.args[0], dict) else {}
        logger.info(
            "Could not log in as user '%s' with host '%s': %s %s",
            secret_dict["username"],
            secret_dict["host"],
            fields.get("C", "?"),
            fields.get("M", "database error"),
        )
        return None
    except pg8000.native.InterfaceError as e:
        logger.info("Could not connect as user '%s' to host '%s': %s", secret_dict["username"], secret_dict["host"], type(e).__name__)
        return None


def alter_password(conn, username, password):
    """`ALTER ROLE <username> WITH PASSWORD '<SCRAM-SHA-256 verifier>'`."""
    conn.run("ALTER ROLE %s WITH PASSWORD %s" % (pg8000.native.identifier(username), pg8000.native.literal(scram_verifier(password))))


def scram_verifier(password, iterations=4096):
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802, RFC 7677), which
    `ALTER ROLE ... PASSWORD` takes as is. The generated passwords are ASCII, which SASLprep leaves
    unchanged."""
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(b):
        return base64.b64encode(b).decode("ascii")

    return "SCRAM-SHA-256$%d:%s$%s:%s" % (iterations, b64(salt), b64(stored_key), b64(server_key))


def get_secret_dict(service_client, arn, stage, token=None):
    """The secret's value for `stage` (and version `token`, if given), parsed and checked."""
    required_fields = ["host", "username", "password", "engine"]

    # Only do VersionId validation against the stage if a token is passed in
    if token:
        secret = service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage=stage)
    else:
        secret = service_client.get_secret_value(SecretId=arn, VersionStage=stage)
    secret_dict = json.loads(secret["SecretString"])

    for field in required_fields:
        if field not in secret_dict:
            raise KeyError("%s key is missing from secret JSON" % field)

    supported_engines = ["postgres", "aurora-postgresql"]
    if secret_dict["engine"] not in supported_engines:
        raise KeyError("Database engine must be set to 'postgres' in order to use this rotation lambda")

    return secret_dict


def get_alt_username(current_username):
    """`X_clone` for `X`, `X` for `X_clone`."""
    if current_username.endswith(CLONE_SUFFIX):
        return current_username[: -len(CLONE_SUFFIX)]
    new_username = current_username + CLONE_SUFFIX
    if len(new_username.encode("utf-8")) > MAX_ROLE_NAME:
        raise ValueError("Unable to clone user, username length with _clone appended would exceed %d characters" % MAX_ROLE_NAME)
    return new_username


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    if len(sys.argv) != 2:
        sys.exit("usage: %s single-user|alternating-users < event.json" % sys.argv[0])
    STRATEGY = sys.argv[1]
    lambda_handler(json.load(sys.stdin), None)
