#!/usr/bin/env python3
"""The strongroom server through boto3, as an application would use it: the whole life of a
secret, binary values, pagination (by hand and with boto3's paginators), partial and full ARNs,
idempotent retries, and the exact error names, messages and HTTP statuses boto3 sees.

Environment: STRONGROOM_ENDPOINT (e.g. http://127.0.0.1:7320), AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY (credentials the server accepts: the server must verify signatures, or the
wrong-credentials checks fail), AWS_DEFAULT_REGION, and STRONGROOM_ROTATION_FUNCTION: a
RotationLambdaARN that the server maps to `rotation_function.py` (beside this file). Every run uses fresh random secret names, so
runs against one server never collide.

Run: `python test_boto3.py` (exits non-zero and names the failed checks on failure).
"""

import datetime
import json
import os
import re
import secrets
import sys
import tempfile
import time
import unittest
import uuid

import boto3
import botocore.exceptions
from botocore.config import Config

ENDPOINT = os.environ.get("STRONGROOM_ENDPOINT", "")
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
RUN = f"b3-{secrets.token_hex(4)}"

NOT_FOUND = "Secrets Manager can't find the specified secret."
INVALID_NAME = (
    "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
)
MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion."
BOTH_VALUES = "You can't specify both a binary secret value and a string secret value in the same secret."
BAD_WINDOW = "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."


def client(**overrides):
    """A Secrets Manager client for the server; no retries, so every call is exactly one request."""
    return boto3.client(
        "secretsmanager",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        **overrides,
    )


_counter = 0


def fresh_name(label):
    global _counter
    _counter += 1
    return f"{RUN}/{label}-{_counter}"


def arn_pattern(name):
    return re.compile(
        rf"arn:aws:secretsmanager:{re.escape(REGION)}:\d{{12}}:secret:{re.escape(name)}-[A-Za-z0-9]{{6}}"
    )


class SecretsTestCase(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.sm = client()

    def assert_error(self, call, code, message=None, **params):
        """`call(**params)` fails with HTTP 400, error `code` and, if given, exactly `message`
        (a compiled pattern is matched in full instead); returns the error response."""
        with self.assertRaises(botocore.exceptions.ClientError, msg=f"expected {code}") as cm:
            call(**params)
        r = cm.exception.response
        self.assertEqual(r["Error"]["Code"], code, r)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400, r)
        if isinstance(message, re.Pattern):
            self.assertRegex(r["Error"]["Message"], message)
            self.assertIsNotNone(message.fullmatch(r["Error"]["Message"]), r["Error"]["Message"])
        elif message is not None:
            self.assertEqual(r["Error"]["Message"], message)
        self.assertTrue(r["ResponseMetadata"].get("RequestId"), "every response carries a request id")
        return r

    def value(self, secret_id, **params):
        return self.sm.get_secret_value(SecretId=secret_id, **params)

    def force_delete(self, secret_id):
        self.sm.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)


class Lifecycle(SecretsTestCase):
    def test_full_lifecycle_of_a_secret(self):
        sm = self.sm
        name = fresh_name("life")
        created = sm.create_secret(
            Name=name,
            SecretString="v1",
            Description="first",
            Tags=[{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "test"}],
        )
        self.assertEqual(created["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(created["Name"], name)
        self.assertRegex(created["ARN"], arn_pattern(name))
        arn, v1 = created["ARN"], created["VersionId"]

        got = self.value(name)
        self.assertEqual(got["SecretString"], "v1")
        self.assertNotIn("SecretBinary", got)
        self.assertEqual(got["VersionId"], v1)
        self.assertEqual(got["VersionStages"], ["AWSCURRENT"])
        self.assertEqual((got["ARN"], got["Name"]), (arn, name))
        self.assertIsInstance(got["CreatedDate"], datetime.datetime)

        # A new value: AWSCURRENT moves to it, AWSPREVIOUS to the old one.
        put = sm.put_secret_value(SecretId=name, SecretString="v2")
        v2 = put["VersionId"]
        self.assertNotEqual(v2, v1)
        self.assertEqual(put["VersionStages"], ["AWSCURRENT"])
        self.assertEqual((put["ARN"], put["Name"]), (arn, name))
        self.assertEqual(self.value(name)["SecretString"], "v2")
        prev = self.value(name, VersionStage="AWSPREVIOUS")
        self.assertEqual((prev["SecretString"], prev["VersionId"]), ("v1", v1))
        self.assertEqual(prev["VersionStages"], ["AWSPREVIOUS"])
        by_id = self.value(name, VersionId=v1)
        self.assertEqual(by_id["SecretString"], "v1")
        both = self.value(name, VersionId=v2, VersionStage="AWSCURRENT")
        self.assertEqual(both["SecretString"], "v2")
        self.assert_error(
            sm.get_secret_value,
            "InvalidRequestException",
            "You provided a VersionStage that is not associated to the provided VersionId.",
            SecretId=name,
            VersionId=v1,
            VersionStage="AWSCURRENT",
        )
        self.assert_error(
            sm.get_secret_value,
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
            SecretId=name,
            VersionStage="AWSPENDING",
        )

        # UpdateSecret with a value makes a version; with only a description it does not.
        upd = sm.update_secret(SecretId=arn, SecretString="v3", Description="second")
        v3 = upd["VersionId"]
        self.assertNotIn(v3, (v1, v2))
        self.assertEqual(self.value(name)["SecretString"], "v3")
        self.assertEqual(self.value(name, VersionStage="AWSPREVIOUS")["SecretString"], "v2")
        upd = sm.update_secret(SecretId=name, Description="third")
        self.assertNotIn("VersionId", upd)
        self.assertEqual((upd["ARN"], upd["Name"]), (arn, name))

        desc = sm.describe_secret(SecretId=name)
        self.assertEqual((desc["ARN"], desc["Name"], desc["Description"]), (arn, name, "third"))
        self.assertEqual(desc["VersionIdsToStages"], {v3: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]})
        self.assertCountEqual(desc["Tags"], [{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "test"}])
        for field in ("CreatedDate", "LastChangedDate", "LastAccessedDate"):
            self.assertIsInstance(desc[field], datetime.datetime, field)
        for absent in ("DeletedDate", "KmsKeyId", "RotationEnabled", "RotationLambdaARN", "OwningService"):
            self.assertNotIn(absent, desc)

        listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
        self.assertEqual([s["Name"] for s in listed], [name])
        self.assertEqual(listed[0]["ARN"], arn)
        self.assertEqual(listed[0]["SecretVersionsToStages"], {v3: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]})
        self.assertEqual(listed[0]["Description"], "third")

        # v1 has no label any more: only IncludeDeprecated lists it, without VersionStages.
        versions = sm.list_secret_version_ids(SecretId=name)
        self.assertEqual((versions["ARN"], versions["Name"]), (arn, name))
        self.assertEqual(
            {v["VersionId"]: v["VersionStages"] for v in versions["Versions"]},
            {v3: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]},
        )
        all_versions = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
        self.assertCountEqual([v["VersionId"] for v in all_versions], [v1, v2, v3])
        deprecated = next(v for v in all_versions if v["VersionId"] == v1)
        self.assertNotIn("VersionStages", deprecated)
        self.assertIsInstance(deprecated["CreatedDate"], datetime.datetime)

        # UpdateSecretVersionStage: AWSCURRENT back to v2 (AWSPREVIOUS follows to v3), a custom
        # label added to v1 and taken off again.
        self.assert_error(
            sm.update_secret_version_stage,
            "InvalidParameterException",
            f"The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently "
            f"attached to version {v3}, so you must explicitly reference that version in RemoveFromVersionId.",
            SecretId=name,
            VersionStage="AWSCURRENT",
            MoveToVersionId=v2,
        )
        moved = sm.update_secret_version_stage(
            SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v2, RemoveFromVersionId=v3
        )
        self.assertEqual({k: moved[k] for k in ("ARN", "Name")}, {"ARN": arn, "Name": name})
        self.assertNotIn("VersionId", moved)
        self.assertEqual(self.value(name)["SecretString"], "v2")
        self.assertEqual(self.value(name, VersionStage="AWSPREVIOUS")["VersionId"], v3)
        sm.update_secret_version_stage(SecretId=name, VersionStage="MYLABEL", MoveToVersionId=v1)
        self.assertEqual(self.value(name, VersionStage="MYLABEL")["SecretString"], "v1")
        self.assertEqual(
            sm.describe_secret(SecretId=name)["VersionIdsToStages"],
            {v2: ["AWSCURRENT"], v3: ["AWSPREVIOUS"], v1: ["MYLABEL"]},
        )
        sm.update_secret_version_stage(SecretId=name, VersionStage="MYLABEL", RemoveFromVersionId=v1)
        self.assertNotIn(v1, sm.describe_secret(SecretId=name)["VersionIdsToStages"])

        # Tags: TagResource adds and overwrites, UntagResource removes; all removed is [].
        tagged = sm.tag_resource(SecretId=name, Tags=[{"Key": "team", "Value": "platform"}, {"Key": "k3", "Value": ""}])
        self.assertEqual(set(tagged) - {"ResponseMetadata"}, set())
        self.assertCountEqual(
            sm.describe_secret(SecretId=name)["Tags"],
            [{"Key": "team", "Value": "platform"}, {"Key": "env", "Value": "test"}, {"Key": "k3", "Value": ""}],
        )
        untagged = sm.untag_resource(SecretId=name, TagKeys=["team", "not-there"])
        self.assertEqual(set(untagged) - {"ResponseMetadata"}, set())
        self.assertCountEqual(
            sm.describe_secret(SecretId=name)["Tags"], [{"Key": "env", "Value": "test"}, {"Key": "k3", "Value": ""}]
        )
        sm.untag_resource(SecretId=name, TagKeys=["env", "k3"])
        self.assertEqual(sm.describe_secret(SecretId=name)["Tags"], [])

        # Deletion with a recovery window: reads and writes refused, still described.
        before = datetime.datetime.now(datetime.timezone.utc)
        deleted = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        after = datetime.datetime.now(datetime.timezone.utc)
        self.assertEqual((deleted["ARN"], deleted["Name"]), (arn, name))
        week = datetime.timedelta(days=7)
        slack = datetime.timedelta(seconds=5)
        self.assertTrue(
            before + week - slack <= deleted["DeletionDate"] <= after + week + slack,
            f"DeletionDate {deleted['DeletionDate']} is not 7 days from now",
        )
        desc = sm.describe_secret(SecretId=name)
        self.assertIsInstance(desc["DeletedDate"], datetime.datetime)
        self.assert_error(sm.get_secret_value, "InvalidRequestException", MARKED_FOR_DELETION, SecretId=name)
        self.assert_error(
            sm.put_secret_value, "InvalidRequestException", MARKED_FOR_DELETION, SecretId=name, SecretString="x"
        )
        self.assert_error(
            sm.update_secret, "InvalidRequestException", MARKED_FOR_DELETION, SecretId=name, Description="x"
        )
        self.assert_error(
            sm.tag_resource,
            "InvalidRequestException",
            MARKED_FOR_DELETION,
            SecretId=name,
            Tags=[{"Key": "a", "Value": "b"}],
        )
        self.assert_error(
            sm.create_secret,
            "InvalidRequestException",
            "You can't create this secret because a secret with this name is already scheduled for deletion.",
            Name=name,
            SecretString="again",
        )
        listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
        self.assertEqual(listed, [])
        listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}], IncludePlannedDeletion=True)
        self.assertEqual([s["Name"] for s in listed["SecretList"]], [name])
        self.assertIn("DeletedDate", listed["SecretList"][0])

        restored = sm.restore_secret(SecretId=name)
        self.assertEqual(set(restored) - {"ResponseMetadata"}, {"ARN", "Name"})
        self.assertEqual((restored["ARN"], restored["Name"]), (arn, name))
        self.assertNotIn("DeletedDate", sm.describe_secret(SecretId=name))
        self.assertEqual(self.value(name)["SecretString"], "v2")

        # Force deletion: gone at once; the name can be used again, with a new ARN.
        gone = sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        self.assertEqual((gone["ARN"], gone["Name"]), (arn, name))
        self.assertIsInstance(gone["DeletionDate"], datetime.datetime)
        self.assert_error(sm.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=name)
        self.assert_error(sm.get_secret_value, "ResourceNotFoundException", NOT_FOUND, SecretId=arn)
        again = sm.create_secret(Name=name, SecretString="reborn")
        self.assertRegex(again["ARN"], arn_pattern(name))
        self.assertNotEqual(again["ARN"], arn, "a re-created secret gets a fresh ARN suffix")
        self.assert_error(sm.get_secret_value, "ResourceNotFoundException", NOT_FOUND, SecretId=arn)
        self.assertEqual(self.value(name)["SecretString"], "reborn")
        self.force_delete(name)

    def test_secret_created_without_a_value(self):
        sm = self.sm
        name = fresh_name("empty")
        created = sm.create_secret(Name=name, Description="")
        self.assertNotIn("VersionId", created, "boto3 sends a ClientRequestToken, but no value means no version")
        desc = sm.describe_secret(SecretId=name)
        self.assertNotIn("VersionIdsToStages", desc)
        self.assert_error(
            sm.get_secret_value,
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
            SecretId=name,
        )
        first = sm.put_secret_value(SecretId=name, SecretString="now", VersionStages=["CUSTOM"])
        self.assertCountEqual(first["VersionStages"], ["AWSCURRENT", "CUSTOM"])
        self.assertEqual(self.value(name)["SecretString"], "now")
        self.force_delete(name)

    def test_rotation_without_a_function(self):
        name = fresh_name("rotate")
        self.sm.create_secret(Name=name, SecretString="init")
        self.assert_error(
            self.sm.rotate_secret,
            "InvalidRequestException",
            "No Lambda rotation function ARN is associated with this secret.",
            SecretId=name,
        )
        self.assertNotIn("RotationEnabled", self.sm.describe_secret(SecretId=name))
        self.force_delete(name)

    def test_random_password(self):
        pw = self.sm.get_random_password(PasswordLength=40, ExcludePunctuation=True)["RandomPassword"]
        self.assertEqual(len(pw), 40)
        self.assertRegex(pw, r"\A[A-Za-z0-9]{40}\Z")
        self.assertEqual(len(self.sm.get_random_password()["RandomPassword"]), 32)
        self.assert_error(
            self.sm.get_random_password, "InvalidParameterException", None, PasswordLength=3, ExcludeLowercase=True,
            ExcludeUppercase=True, ExcludeNumbers=True, ExcludePunctuation=True,
        )


class Rotation(SecretsTestCase):
    """RotateSecret with a rotation function the server runs (rotation_function.py, written as
    for AWS Lambda), as an application would drive it through boto3."""

    def test_rotation_with_a_mapped_function(self):
        function = os.environ.get("STRONGROOM_ROTATION_FUNCTION")
        self.assertTrue(function, "STRONGROOM_ROTATION_FUNCTION is not set")
        sm = self.sm
        with tempfile.TemporaryDirectory() as tmp:
            target = os.path.join(tmp, "target.json")
            with open(target, "w", encoding="utf-8") as f:
                json.dump({"passwords": {"app": ["first"]}, "steps": []}, f)
            name = fresh_name("rotated")
            first = sm.create_secret(
                Name=name, SecretString=json.dumps({"username": "app", "password": "first", "target": target})
            )["VersionId"]

            # A function the server does not know: refused as AWS refuses one it cannot invoke.
            self.assert_error(
                sm.rotate_secret,
                "AccessDeniedException",
                "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function "
                "policy grants access to the principal secretsmanager.amazonaws.com.",
                SecretId=name,
                RotationLambdaARN=function + "-unknown",
            )
            self.assertNotIn("RotationEnabled", sm.describe_secret(SecretId=name))

            rotated = sm.rotate_secret(
                SecretId=name, RotationLambdaARN=function, RotationRules={"AutomaticallyAfterDays": 30}
            )
            token = rotated["VersionId"]
            self.assertEqual(rotated["Name"], name)
            for _ in range(1200):
                desc = sm.describe_secret(SecretId=name)
                if "LastRotatedDate" in desc:
                    break
                time.sleep(0.1)
            else:
                self.fail("the rotation did not finish within 2 minutes")
            self.assertTrue(desc["RotationEnabled"])
            self.assertEqual(desc["RotationLambdaARN"], function)
            self.assertEqual(desc["RotationRules"], {"AutomaticallyAfterDays": 30})
            self.assertIsInstance(desc["NextRotationDate"], datetime.datetime)
            current = self.value(name)
            self.assertEqual(current["VersionId"], token)
            self.assertNotEqual(json.loads(current["SecretString"])["password"], "first")
            self.assertEqual(self.value(name, VersionStage="AWSPREVIOUS")["VersionId"], first)
            with open(target, encoding="utf-8") as f:
                steps = [s for s, _ in json.load(f)["steps"]]
            self.assertEqual(steps, ["createSecret", "setSecret", "testSecret", "finishSecret"])

            # Cancelling keeps the settings and turns rotation off.
            cancelled = sm.cancel_rotate_secret(SecretId=name)
            self.assertEqual(cancelled["Name"], name)
            self.assertNotIn("VersionId", cancelled, "no rotation was in progress")
            desc = sm.describe_secret(SecretId=name)
            self.assertFalse(desc["RotationEnabled"])
            self.assertEqual(desc["RotationLambdaARN"], function)
            self.assertNotIn("NextRotationDate", desc)
            self.force_delete(name)


class BinaryValues(SecretsTestCase):
    def test_every_byte_value_round_trips(self):
        sm = self.sm
        name = fresh_name("binary")
        every = bytes(range(256))
        created = sm.create_secret(Name=name, SecretBinary=every)
        got = self.value(name)
        self.assertEqual(got["SecretBinary"], every)
        self.assertNotIn("SecretString", got)
        self.assertEqual(got["VersionId"], created["VersionId"])

        backwards = bytes(reversed(every)) * 3
        sm.put_secret_value(SecretId=name, SecretBinary=backwards)
        self.assertEqual(self.value(name)["SecretBinary"], backwards)
        self.assertEqual(self.value(name, VersionStage="AWSPREVIOUS")["SecretBinary"], every)

        for value in (b"\x00", b"\xff\xfe\xfd", b"\x00\x01\x02\xff"):
            sm.update_secret(SecretId=name, SecretBinary=value)
            self.assertEqual(self.value(name)["SecretBinary"], value)

        # A binary secret can take a string value afterwards, and back.
        sm.put_secret_value(SecretId=name, SecretString="text now")
        got = self.value(name)
        self.assertEqual(got["SecretString"], "text now")
        self.assertNotIn("SecretBinary", got)
        self.force_delete(name)

    def test_unicode_string_round_trips(self):
        name = fresh_name("unicode")
        text = "pässwörd ✓ 密码 \U0001f511 \x00 end"
        self.sm.create_secret(Name=name, SecretString=text)
        self.assertEqual(self.value(name)["SecretString"], text)
        self.force_delete(name)


class Pagination(SecretsTestCase):
    def test_list_secrets_pages(self):
        sm = self.sm
        prefix = fresh_name("page")
        names = [f"{prefix}-{i:02d}" for i in range(7)]
        for n in names:
            sm.create_secret(Name=n, SecretString=n)
        flt = [{"Key": "name", "Values": [prefix]}]

        # By hand: MaxResults and NextToken.
        seen, pages, token = [], 0, None
        while True:
            params = {"Filters": flt, "MaxResults": 3}
            if token:
                params["NextToken"] = token
            page = sm.list_secrets(**params)
            pages += 1
            self.assertLessEqual(len(page["SecretList"]), 3)
            seen += [s["Name"] for s in page["SecretList"]]
            token = page.get("NextToken")
            if not token:
                break
            self.assertLess(pages, 20, "pagination does not end")
        self.assertGreaterEqual(pages, 3)
        self.assertEqual(sorted(seen), names, "every secret exactly once")

        # boto3's paginator, with a page size.
        paginator = sm.get_paginator("list_secrets")
        pages = list(paginator.paginate(Filters=flt, PaginationConfig={"PageSize": 2}))
        self.assertGreaterEqual(len(pages), 4)
        self.assertTrue(all(len(p["SecretList"]) <= 2 for p in pages))
        self.assertEqual(sorted(s["Name"] for p in pages for s in p["SecretList"]), names)

        # MaxItems stops early with a resume token; StartingToken resumes from it.
        first = paginator.paginate(Filters=flt, PaginationConfig={"PageSize": 2, "MaxItems": 5}).build_full_result()
        self.assertEqual(len(first["SecretList"]), 5)
        self.assertIn("NextToken", first)
        rest = paginator.paginate(
            Filters=flt, PaginationConfig={"PageSize": 2, "StartingToken": first["NextToken"]}
        ).build_full_result()
        self.assertNotIn("NextToken", rest)
        self.assertEqual(sorted(s["Name"] for s in first["SecretList"] + rest["SecretList"]), names)

        # Sorted by name, both ways.
        asc = paginator.paginate(Filters=flt, SortBy="name", SortOrder="asc", PaginationConfig={"PageSize": 3})
        self.assertEqual([s["Name"] for s in asc.build_full_result()["SecretList"]], names)
        desc = paginator.paginate(Filters=flt, SortBy="name", SortOrder="desc", PaginationConfig={"PageSize": 3})
        self.assertEqual([s["Name"] for s in desc.build_full_result()["SecretList"]], names[::-1])

        self.assert_error(sm.list_secrets, "ValidationException", None, MaxResults=101)
        for n in names:
            self.force_delete(n)

    def test_list_secret_version_ids_pages(self):
        sm = self.sm
        name = fresh_name("versions")
        ids = [sm.create_secret(Name=name, SecretString="0")["VersionId"]]
        for i in range(1, 7):
            ids.append(sm.put_secret_value(SecretId=name, SecretString=str(i))["VersionId"])
        self.assertEqual(len(set(ids)), 7)

        entries, pages = all_versions(sm, name, page_size=2)
        self.assertGreaterEqual(pages, 4)
        self.assertCountEqual([v["VersionId"] for v in entries], ids)
        self.assertTrue(all(isinstance(v["CreatedDate"], datetime.datetime) for v in entries))
        entries, pages = all_versions(sm, name, page_size=3)
        self.assertGreaterEqual(pages, 3)
        self.assertCountEqual([v["VersionId"] for v in entries], ids)
        # Without IncludeDeprecated only the labelled versions are listed.
        labelled, _ = all_versions(sm, name, page_size=1, include_deprecated=False)
        self.assertEqual(
            {v["VersionId"]: v["VersionStages"] for v in labelled},
            {ids[6]: ["AWSCURRENT"], ids[5]: ["AWSPREVIOUS"]},
        )
        self.assert_error(sm.list_secret_version_ids, "ValidationException", None, SecretId=name, MaxResults=101)
        self.force_delete(name)


class SecretIds(SecretsTestCase):
    def test_names_full_and_partial_arns(self):
        sm = self.sm
        name = fresh_name("app/db")
        arn = sm.create_secret(Name=name, SecretString="s3cret")["ARN"]
        partial = arn[:-7]
        self.assertEqual(partial, arn.rsplit("-", 1)[0])
        for secret_id in (name, arn, partial):
            self.assertEqual(self.value(secret_id)["SecretString"], "s3cret", secret_id)
            self.assertEqual(sm.describe_secret(SecretId=secret_id)["ARN"], arn, secret_id)
        sm.put_secret_value(SecretId=partial, SecretString="by-partial")
        self.assertEqual(self.value(arn)["SecretString"], "by-partial")
        sm.tag_resource(SecretId=partial, Tags=[{"Key": "via", "Value": "partial"}])
        sm.update_secret(SecretId=arn, Description="by-arn")
        desc = sm.describe_secret(SecretId=name)
        self.assertEqual(desc["Description"], "by-arn")
        self.assertEqual(desc["Tags"], [{"Key": "via", "Value": "partial"}])
        self.assertEqual(sm.list_secret_version_ids(SecretId=partial)["ARN"], arn)

        # A full ARN with another suffix, or in another region, finds nothing.
        other_suffix = partial + ("-AAAAAA" if not arn.endswith("-AAAAAA") else "-BBBBBB")
        self.assert_error(sm.get_secret_value, "ResourceNotFoundException", NOT_FOUND, SecretId=other_suffix)
        other_region = arn.replace(f":{REGION}:", ":ap-south-2:" if REGION != "ap-south-2" else ":eu-west-3:")
        self.assert_error(sm.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=other_region)
        self.force_delete(partial)
        self.assert_error(sm.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=name)

    def test_a_name_that_looks_like_it_has_a_suffix(self):
        # The partial ARN of "<x>-abcdef" reads as a full ARN of "<x>" and finds nothing.
        sm = self.sm
        name = fresh_name("looks") + "-abcdef"
        arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
        self.assertEqual(self.value(name)["SecretString"], "v")
        self.assertEqual(self.value(arn)["SecretString"], "v")
        self.assert_error(sm.get_secret_value, "ResourceNotFoundException", NOT_FOUND, SecretId=arn[:-7])
        self.force_delete(arn)


class Idempotency(SecretsTestCase):
    def versions(self, name):
        return sm_versions(self.sm, name)

    def test_create_retried_with_the_same_token(self):
        sm = self.sm
        name = fresh_name("idem-create")
        token = str(uuid.uuid4())
        first = sm.create_secret(Name=name, SecretString="same", ClientRequestToken=token)
        self.assertEqual(first["VersionId"], token)
        again = sm.create_secret(Name=name, SecretString="same", ClientRequestToken=token)
        self.assertEqual(
            {k: again[k] for k in ("ARN", "Name", "VersionId")}, {k: first[k] for k in ("ARN", "Name", "VersionId")}
        )
        self.assertEqual(self.versions(name), [token], "a retry makes no new version")
        self.assert_error(
            sm.create_secret,
            "ResourceExistsException",
            f"You can't use ClientRequestToken {token} because that value is already in use for a version "
            f"of secret {first['ARN']}.",
            Name=name,
            SecretString="different",
            ClientRequestToken=token,
        )
        self.assert_error(
            sm.create_secret,
            "ResourceExistsException",
            f"The operation failed because the secret {name} already exists.",
            Name=name,
            SecretString="same",
        )
        self.assertEqual(self.value(name)["SecretString"], "same")
        self.force_delete(name)

    def test_put_and_update_retried_with_the_same_token(self):
        sm = self.sm
        name = fresh_name("idem-put")
        v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
        token = uuid.uuid4().hex  # 32 characters: any 32..64-character token is a version id
        put = sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=token)
        self.assertEqual(put["VersionId"], token)
        retried = sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=token)
        self.assertEqual(retried["VersionId"], token)
        self.assertEqual(retried["VersionStages"], ["AWSCURRENT"])
        self.assertCountEqual(self.versions(name), [v1, token])
        self.assert_error(
            sm.put_secret_value,
            "ResourceExistsException",
            re.compile(rf"You can't use ClientRequestToken {token} because that value is already in use .*"),
            SecretId=name,
            SecretString="three",
            ClientRequestToken=token,
        )
        self.assertEqual(self.value(name)["SecretString"], "two")

        utoken = str(uuid.uuid4())
        upd = sm.update_secret(SecretId=name, SecretString="four", ClientRequestToken=utoken)
        self.assertEqual(upd["VersionId"], utoken)
        upd = sm.update_secret(SecretId=name, SecretString="four", ClientRequestToken=utoken)
        self.assertEqual(upd["VersionId"], utoken)
        self.assertCountEqual(self.versions(name), [v1, token, utoken])
        self.assert_error(
            sm.update_secret,
            "ResourceExistsException",
            None,
            SecretId=name,
            SecretString="five",
            ClientRequestToken=utoken,
        )
        self.assertEqual(self.value(name)["SecretString"], "four")
        # (botocore itself refuses a token shorter than 32 characters; a long one reaches the server.)
        self.assert_error(
            sm.put_secret_value,
            "ValidationException",
            re.compile(
                r"1 validation error detected: Value 't+' at 'clientRequestToken' failed to satisfy "
                r"constraint: Member must have length less than or equal to 64"
            ),
            SecretId=name,
            SecretString="long token",
            ClientRequestToken="t" * 65,
        )
        self.force_delete(name)


def all_versions(sm, name, page_size=None, include_deprecated=True):
    """Every entry of ListSecretVersionIds, following NextToken (botocore has no paginator for
    this operation); also returns the number of pages."""
    entries, pages, token = [], 0, None
    while True:
        params = {"SecretId": name, "IncludeDeprecated": include_deprecated}
        if page_size:
            params["MaxResults"] = page_size
        if token:
            params["NextToken"] = token
        page = sm.list_secret_version_ids(**params)
        pages += 1
        if page_size and len(page["Versions"]) > page_size:
            raise AssertionError(f"a page of {len(page['Versions'])} versions for MaxResults={page_size}")
        entries += page["Versions"]
        token = page.get("NextToken")
        if not token:
            return entries, pages
        if pages > 100:
            raise AssertionError("ListSecretVersionIds pagination does not end")


def sm_versions(sm, name):
    return [v["VersionId"] for v in all_versions(sm, name)[0]]


class Errors(SecretsTestCase):
    def test_not_found(self):
        sm = self.sm
        missing = fresh_name("missing")
        for call, params in (
            (sm.get_secret_value, {}),
            (sm.describe_secret, {}),
            (sm.put_secret_value, {"SecretString": "x"}),
            (sm.update_secret, {"Description": "x"}),
            (sm.list_secret_version_ids, {}),
            (sm.delete_secret, {}),
            (sm.restore_secret, {}),
            (sm.tag_resource, {"Tags": [{"Key": "k", "Value": "v"}]}),
            (sm.untag_resource, {"TagKeys": ["k"]}),
        ):
            with self.subTest(operation=call.__name__):
                r = self.assert_error(call, "ResourceNotFoundException", NOT_FOUND, SecretId=missing, **params)
                self.assertEqual(r.get("Message"), NOT_FOUND, "boto3 copies the modelled Message")
        # Force deletion of an unknown secret succeeds, as in AWS.
        gone = sm.delete_secret(SecretId=missing, ForceDeleteWithoutRecovery=True)
        self.assertEqual(gone["Name"], missing)

    def test_invalid_names(self):
        sm = self.sm
        for bad in ("has space", "star*", f"{RUN}?", "x" * 513):
            with self.subTest(name=bad):
                self.assert_error(sm.create_secret, "ValidationException", None, Name=bad, SecretString="v")
        self.assert_error(sm.create_secret, "ValidationException", INVALID_NAME, Name="bad name", SecretString="v")
        for call, params in (
            (sm.get_secret_value, {}),
            (sm.describe_secret, {}),
            (sm.delete_secret, {"ForceDeleteWithoutRecovery": True}),
        ):
            with self.subTest(operation=call.__name__):
                r = self.assert_error(call, "ValidationException", INVALID_NAME, SecretId="Inv Name", **params)
                self.assertNotIn("Message", r, "ValidationException is not a modelled error")

    def test_both_string_and_binary(self):
        sm = self.sm
        name = fresh_name("both")
        self.assert_error(
            sm.create_secret, "InvalidParameterException", BOTH_VALUES, Name=name, SecretString="s", SecretBinary=b"b"
        )
        self.assert_error(sm.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=name)
        sm.create_secret(Name=name, SecretString="s")
        self.assert_error(
            sm.put_secret_value,
            "InvalidParameterException",
            BOTH_VALUES,
            SecretId=name,
            SecretString="s",
            SecretBinary=b"b",
        )
        self.assert_error(
            sm.put_secret_value,
            "InvalidRequestException",
            "You must provide either SecretString or SecretBinary.",
            SecretId=name,
        )
        self.force_delete(name)

    def test_bad_recovery_windows(self):
        sm = self.sm
        name = fresh_name("window")
        sm.create_secret(Name=name, SecretString="s")
        for days in (0, 6, 31, 365):
            with self.subTest(days=days):
                self.assert_error(
                    sm.delete_secret, "InvalidParameterException", BAD_WINDOW, SecretId=name, RecoveryWindowInDays=days
                )
        self.assert_error(
            sm.delete_secret,
            "InvalidParameterException",
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
            SecretId=name,
            RecoveryWindowInDays=7,
            ForceDeleteWithoutRecovery=True,
        )
        self.assertNotIn("DeletedDate", sm.describe_secret(SecretId=name), "nothing was deleted")
        d30 = sm.delete_secret(SecretId=name, RecoveryWindowInDays=30)["DeletionDate"]
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs(d30 - (now + datetime.timedelta(days=30))), datetime.timedelta(minutes=1))
        self.force_delete(name)

    def test_wrong_credentials(self):
        key_id = os.environ["AWS_ACCESS_KEY_ID"]
        wrong_secret = client(aws_access_key_id=key_id, aws_secret_access_key="not-the-secret-key")
        self.assert_error(wrong_secret.list_secrets, "InvalidSignatureException")
        self.assert_error(wrong_secret.get_secret_value, "InvalidSignatureException", SecretId=fresh_name("sig"))
        unknown = client(aws_access_key_id="AKIDUNKNOWNTOSERVER", aws_secret_access_key="whatever")
        self.assert_error(
            unknown.list_secrets,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
        # A refused request changes nothing.
        name = fresh_name("refused")
        self.assert_error(wrong_secret.create_secret, "InvalidSignatureException", Name=name, SecretString="x")
        self.assert_error(self.sm.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId=name)

    def test_operations_not_implemented(self):
        name = fresh_name("policy")
        self.assert_error(
            self.sm.get_resource_policy,
            "UnknownOperationException",
            "GetResourcePolicy is a Secrets Manager operation this server does not implement.",
            SecretId=name,
        )


if __name__ == "__main__":
    if not ENDPOINT:
        print("STRONGROOM_ENDPOINT is not set", file=sys.stderr)
        sys.exit(2)
    print(f"boto3 {boto3.__version__} against {ENDPOINT} (names under {RUN}/)")
    unittest.main(verbosity=2)
