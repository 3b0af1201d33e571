#!/usr/bin/env python3
"""The strongroom server through the AWS CLI (`aws secretsmanager ...`, the `aws` next to this
interpreter, run as a subprocess with `--endpoint-url` and `--output json`): the life of a secret,
CLI-side pagination (`--max-items`, `--page-size`, `--starting-token`), binary values from
`fileb://`, random passwords, and errors as the CLI shows them: exit status 254/255 and
`An error occurred (Code) when calling the Operation operation: Message` on stderr.

Environment: STRONGROOM_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (credentials the server
accepts; it must verify signatures), AWS_DEFAULT_REGION. Every run uses fresh random secret names.

Run: `python test_cli.py` (exits non-zero and names the failed checks on failure).
"""

import base64
import datetime
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

ENDPOINT = os.environ.get("STRONGROOM_ENDPOINT", "")
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
RUN = f"cli-{secrets.token_hex(4)}"
AWS = Path(sys.executable).parent / "aws"

NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion."
# The AWS CLI exits with 255 (v1) or 254 (v2) when the service answers with an error.
SERVICE_ERROR_EXIT = (254, 255)

_counter = 0


def fresh_name(label):
    global _counter
    _counter += 1
    return f"{RUN}/{label}-{_counter}"


class Result:
    def __init__(self, args, proc):
        self.args = args
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def __str__(self):
        return f"aws {' '.join(self.args)}\nexit {self.code}\nstdout: {self.stdout}\nstderr: {self.stderr}"


def aws(*args, env=None):
    """Runs `aws secretsmanager <args>` against the server."""
    full_env = dict(os.environ)
    # (The CLI's default retries never retry a 400, so each failing command shows the server's
    # first answer, with the plain "An error occurred (...)" line.)
    full_env["AWS_PAGER"] = ""
    full_env.update(env or {})
    cmd = [sys.executable, str(AWS), "secretsmanager", *args, "--endpoint-url", ENDPOINT, "--region", REGION]
    if "--output" not in args:
        cmd += ["--output", "json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=120, check=False)
    return Result(list(args), proc)


def epoch_or_iso(value):
    """A timestamp as the CLI prints it: epoch seconds as received (CLI v1's default), or ISO."""
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return datetime.datetime.fromisoformat(value)


class CliTestCase(unittest.TestCase):
    maxDiff = None

    def ok(self, *args, **kw):
        """Runs a command that must succeed; returns its JSON output (None when it prints nothing)."""
        r = aws(*args, **kw)
        self.assertEqual(r.code, 0, str(r))
        self.assertNotIn("error occurred", r.stderr, str(r))
        return json.loads(r.stdout) if r.stdout.strip() else None

    def fails(self, code, operation, message, *args, **kw):
        """Runs a command that the server must refuse with `code` (and exactly `message`, if given)."""
        r = aws(*args, **kw)
        self.assertIn(r.code, SERVICE_ERROR_EXIT, str(r))
        self.assertEqual(r.stdout.strip(), "", str(r))
        prefix = f"An error occurred ({code}) when calling the {operation} operation: "
        self.assertIn(prefix, r.stderr, str(r))
        if message is not None:
            self.assertEqual(r.stderr.strip(), prefix + message, str(r))
        return r

    def assert_recent(self, value, what, offset=datetime.timedelta(0)):
        t = epoch_or_iso(value)
        expected = datetime.datetime.now(datetime.timezone.utc) + offset
        self.assertLess(abs(t - expected), datetime.timedelta(minutes=5), f"{what} = {value}")


class Lifecycle(CliTestCase):
    def test_lifecycle(self):
        name = fresh_name("life")
        created = self.ok(
            "create-secret",
            "--name",
            name,
            "--secret-string",
            '{"user":"admin","password":"hunter2"}',
            "--description",
            "made by the CLI",
            "--tags",
            "Key=team,Value=core",
            "Key=env,Value=test",
        )
        self.assertEqual(created["Name"], name)
        self.assertRegex(created["ARN"], rf"^arn:aws:secretsmanager:{REGION}:\d{{12}}:secret:{re.escape(name)}-[A-Za-z0-9]{{6}}$")
        arn, v1 = created["ARN"], created["VersionId"]

        got = self.ok("get-secret-value", "--secret-id", name)
        self.assertEqual(json.loads(got["SecretString"]), {"user": "admin", "password": "hunter2"})
        self.assertEqual((got["ARN"], got["VersionId"], got["VersionStages"]), (arn, v1, ["AWSCURRENT"]))
        self.assert_recent(got["CreatedDate"], "CreatedDate")

        put = self.ok("put-secret-value", "--secret-id", arn, "--secret-string", "second")
        self.assertEqual(put["VersionStages"], ["AWSCURRENT"])
        v2 = put["VersionId"]
        self.assertNotEqual(v2, v1)
        self.assertEqual(self.ok("get-secret-value", "--secret-id", name)["SecretString"], "second")
        prev = self.ok("get-secret-value", "--secret-id", name, "--version-stage", "AWSPREVIOUS")
        self.assertEqual(prev["VersionId"], v1)
        by_id = self.ok("get-secret-value", "--secret-id", arn[:-7], "--version-id", v1)
        self.assertEqual(by_id["VersionStages"], ["AWSPREVIOUS"])

        # --query and --output text, as scripts use them.
        r = aws("get-secret-value", "--secret-id", name, "--query", "SecretString", "--output", "text")
        self.assertEqual((r.code, r.stdout), (0, "second\n"), str(r))

        upd = self.ok("update-secret", "--secret-id", name, "--description", "changed")
        self.assertNotIn("VersionId", upd)
        desc = self.ok("describe-secret", "--secret-id", name)
        self.assertEqual(desc["Description"], "changed")
        self.assertEqual(desc["VersionIdsToStages"], {v2: ["AWSCURRENT"], v1: ["AWSPREVIOUS"]})
        self.assertCountEqual(desc["Tags"], [{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "test"}])
        self.assert_recent(desc["LastChangedDate"], "LastChangedDate")

        versions = self.ok("list-secret-version-ids", "--secret-id", name, "--include-deprecated")
        self.assertEqual(
            {v["VersionId"]: v["VersionStages"] for v in versions["Versions"]},
            {v2: ["AWSCURRENT"], v1: ["AWSPREVIOUS"]},
        )
        page = self.ok("list-secret-version-ids", "--secret-id", name, "--max-results", "1")
        self.assertEqual(len(page["Versions"]), 1)
        rest = self.ok("list-secret-version-ids", "--secret-id", name, "--max-results", "1", "--next-token", page["NextToken"])
        self.assertEqual(len(rest["Versions"]), 1)
        self.assertNotIn("NextToken", rest)
        self.assertCountEqual([page["Versions"][0]["VersionId"], rest["Versions"][0]["VersionId"]], [v1, v2])

        # TagResource / UntagResource print nothing.
        self.assertIsNone(self.ok("tag-resource", "--secret-id", name, "--tags", "Key=team,Value=platform", "Key=new,Value=1"))
        self.assertIsNone(self.ok("untag-resource", "--secret-id", name, "--tag-keys", "env"))
        tags = self.ok("describe-secret", "--secret-id", name)["Tags"]
        self.assertCountEqual(tags, [{"Key": "team", "Value": "platform"}, {"Key": "new", "Value": "1"}])

        moved = self.ok(
            "update-secret-version-stage",
            "--secret-id",
            name,
            "--version-stage",
            "AWSCURRENT",
            "--move-to-version-id",
            v1,
            "--remove-from-version-id",
            v2,
        )
        self.assertEqual(moved, {"ARN": arn, "Name": name})
        self.assertEqual(self.ok("get-secret-value", "--secret-id", name)["VersionId"], v1)

        deleted = self.ok("delete-secret", "--secret-id", name, "--recovery-window-in-days", "7")
        self.assertEqual((deleted["ARN"], deleted["Name"]), (arn, name))
        self.assert_recent(deleted["DeletionDate"], "DeletionDate", datetime.timedelta(days=7))
        self.assertIn("DeletedDate", self.ok("describe-secret", "--secret-id", name))
        self.fails("InvalidRequestException", "GetSecretValue", MARKED_FOR_DELETION, "get-secret-value", "--secret-id", name)
        self.fails(
            "InvalidRequestException",
            "TagResource",
            MARKED_FOR_DELETION,
            "tag-resource",
            "--secret-id",
            name,
            "--tags",
            "Key=a,Value=b",
        )
        restored = self.ok("restore-secret", "--secret-id", name)
        self.assertEqual(restored, {"ARN": arn, "Name": name})
        self.assertEqual(self.ok("get-secret-value", "--secret-id", name)["SecretString"], json.dumps({"user": "admin", "password": "hunter2"}, separators=(",", ":")))

        gone = self.ok("delete-secret", "--secret-id", name, "--force-delete-without-recovery")
        self.assertEqual(gone["Name"], name)
        self.fails("ResourceNotFoundException", "GetSecretValue", NOT_FOUND, "get-secret-value", "--secret-id", name)
        self.fails("ResourceNotFoundException", "DescribeSecret", NOT_FOUND, "describe-secret", "--secret-id", arn)

    def test_binary_secret_from_a_file(self):
        name = fresh_name("binary")
        every = bytes(range(256))
        with tempfile.TemporaryDirectory() as tmp:
            first = Path(tmp) / "every-byte.bin"
            first.write_bytes(every)
            created = self.ok("create-secret", "--name", name, "--secret-binary", f"fileb://{first}")
            got = self.ok("get-secret-value", "--secret-id", name)
            self.assertNotIn("SecretString", got)
            self.assertEqual(base64.b64decode(got["SecretBinary"], validate=True), every)
            self.assertEqual(got["VersionId"], created["VersionId"])

            second = Path(tmp) / "second.bin"
            second.write_bytes(b"\x00\xff" * 1000)
            self.ok("put-secret-value", "--secret-id", name, "--secret-binary", f"fileb://{second}")
            r = aws("get-secret-value", "--secret-id", name, "--query", "SecretBinary", "--output", "text")
            self.assertEqual(r.code, 0, str(r))
            self.assertEqual(base64.b64decode(r.stdout.strip(), validate=True), b"\x00\xff" * 1000)
            prev = self.ok("get-secret-value", "--secret-id", name, "--version-stage", "AWSPREVIOUS")
            self.assertEqual(base64.b64decode(prev["SecretBinary"]), every)
        self.ok("delete-secret", "--secret-id", name, "--force-delete-without-recovery")

    def test_random_password(self):
        pw = self.ok("get-random-password", "--password-length", "24", "--exclude-punctuation")["RandomPassword"]
        self.assertRegex(pw, r"\A[A-Za-z0-9]{24}\Z")
        pw = self.ok("get-random-password", "--password-length", "50", "--exclude-characters", "abcABC123", "--include-space")
        self.assertEqual(len(pw["RandomPassword"]), 50)
        self.assertFalse(set(pw["RandomPassword"]) & set("abcABC123"))
        self.assertEqual(len(self.ok("get-random-password")["RandomPassword"]), 32)


class Pagination(CliTestCase):
    def test_list_secrets_max_items_and_page_size(self):
        prefix = fresh_name("page")
        names = [f"{prefix}-{i}" for i in range(5)]
        for n in names:
            self.ok("create-secret", "--name", n, "--secret-string", n)
        flt = ["--filters", f"Key=name,Values={prefix}"]

        # The CLI follows NextToken itself: every page of 2 is fetched and merged.
        everything = self.ok("list-secrets", *flt, "--page-size", "2")
        self.assertEqual(sorted(s["Name"] for s in everything["SecretList"]), names)
        self.assertNotIn("NextToken", everything)

        # --max-items stops early and prints a token that --starting-token resumes from.
        first = self.ok("list-secrets", *flt, "--page-size", "1", "--max-items", "3")
        self.assertEqual(len(first["SecretList"]), 3)
        self.assertIn("NextToken", first)
        rest = self.ok("list-secrets", *flt, "--page-size", "1", "--starting-token", first["NextToken"])
        self.assertNotIn("NextToken", rest)
        self.assertEqual(sorted(s["Name"] for s in first["SecretList"] + rest["SecretList"]), names)

        # --no-paginate shows the server's single page and its NextToken.
        one = self.ok("list-secrets", *flt, "--no-paginate", "--max-results", "2")
        self.assertEqual(len(one["SecretList"]), 2)
        self.assertIn("NextToken", one)

        by_name = self.ok("list-secrets", *flt, "--sort-by", "name", "--sort-order", "desc")
        self.assertEqual([s["Name"] for s in by_name["SecretList"]], names[::-1])
        for n in names:
            self.ok("delete-secret", "--secret-id", n, "--force-delete-without-recovery")


class Errors(CliTestCase):
    def test_service_errors(self):
        missing = fresh_name("missing")
        self.fails("ResourceNotFoundException", "GetSecretValue", NOT_FOUND, "get-secret-value", "--secret-id", missing)
        self.fails("ResourceNotFoundException", "DescribeSecret", NOT_FOUND, "describe-secret", "--secret-id", missing)
        self.fails(
            "ValidationException",
            "CreateSecret",
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
            "create-secret",
            "--name",
            "no spaces allowed",
            "--secret-string",
            "x",
        )
        name = fresh_name("errors")
        self.ok("create-secret", "--name", name, "--secret-string", "x")
        self.fails(
            "ResourceExistsException",
            "CreateSecret",
            f"The operation failed because the secret {name} already exists.",
            "create-secret",
            "--name",
            name,
            "--secret-string",
            "y",
        )
        self.fails(
            "InvalidParameterException",
            "DeleteSecret",
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
            "delete-secret",
            "--secret-id",
            name,
            "--recovery-window-in-days",
            "3",
        )
        with tempfile.NamedTemporaryFile(suffix=".bin") as f:
            f.write(b"\x01\x02")
            f.flush()
            self.fails(
                "InvalidParameterException",
                "PutSecretValue",
                "You can't specify both a binary secret value and a string secret value in the same secret.",
                "put-secret-value",
                "--secret-id",
                name,
                "--secret-string",
                "s",
                "--secret-binary",
                f"fileb://{f.name}",
            )
        self.ok("delete-secret", "--secret-id", name, "--force-delete-without-recovery")

    def test_credentials(self):
        self.fails(
            "InvalidSignatureException",
            "ListSecrets",
            None,
            "list-secrets",
            env={"AWS_SECRET_ACCESS_KEY": "wrong-" + secrets.token_hex(8)},
        )
        self.fails(
            "UnrecognizedClientException",
            "ListSecrets",
            "The security token included in the request is invalid.",
            "list-secrets",
            env={"AWS_ACCESS_KEY_ID": "AKIDNOTKNOWN" + secrets.token_hex(4).upper()},
        )


if __name__ == "__main__":
    if not ENDPOINT:
        print("STRONGROOM_ENDPOINT is not set", file=sys.stderr)
        sys.exit(2)
    if not AWS.is_file():
        print(f"the AWS CLI is not installed next to {sys.executable} (expected {AWS})", file=sys.stderr)
        sys.exit(2)
    print(f"{AWS} against {ENDPOINT} (names under {RUN}/)")
    started = time.monotonic()
    program = unittest.main(verbosity=2, exit=False)
    print(f"{time.monotonic() - started:.1f} s")
    sys.exit(0 if program.result.wasSuccessful() else 1)
