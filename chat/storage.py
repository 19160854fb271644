"""Where attachments' bytes live, behind one interface: a folder under ``instance/`` by
default, or any S3-compatible store when ``S3_BUCKET`` is set (which several processes
serving one deployment need: each sees every file).

Keys are random (``new_key``), never derived from a name a client sent. ``put`` takes a
finished local file, ``delete`` forgets keys (a missing key is no error, so two processes
sweeping at once do no harm), and ``response`` answers a download: the folder serves the
file itself (ETag, ``If-None-Match`` and ranges through Werkzeug's ``send_file``); the S3
store redirects to a short-lived presigned URL, where the store answers ranges and
conditional requests (the page's CSP allows its origin: ``origin``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import unicodedata
from urllib.parse import quote, urlsplit

from flask import current_app, redirect, send_file
from werkzeug.http import dump_header


def new_key() -> str:
    """A random storage key: 32 characters of [a-z0-9], unguessable."""
    return secrets.token_hex(16)


def content_disposition(name: str, inline: bool) -> str:
    """``inline`` or ``attachment`` with the display name, as Werkzeug's send_file says it
    for the folder: an ASCII ``filename`` and, when the name is not ASCII, ``filename*``
    in UTF-8."""
    kind = "inline" if inline else "attachment"
    try:
        name.encode("ascii")
        names = {"filename": name}
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        names = {"filename": simple, "filename*": f"UTF-8''{quote(name, safe='!#$&+^`|~')}"}
    return f"{kind}; {dump_header(names)}"


class FolderStorage:
    """Files in a folder (``instance/attachments`` unless ``ATTACHMENTS_FOLDER`` says),
    two levels of subfolders by key; made on the first upload."""

    origin = None  # downloads come from this site

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def _path(self, key: str) -> str:
        if not key.isalnum():  # keys are ours, but a path is built from it
            raise ValueError("bad storage key")
        return os.path.join(self.folder, key[:2], key)

    def spool_folder(self) -> str:
        """Where an upload is written while it arrives: on the same file system, so
        ``put`` renames rather than copies."""
        path = os.path.join(self.folder, "incoming")
        os.makedirs(path, exist_ok=True)
        return path

    def put(self, key: str, path: str, content_type: str) -> None:
        """Store the finished file at ``path`` under ``key`` (moved, not copied)."""
        target = self._path(key)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(path, target)

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(key))

    def exists(self, key: str) -> bool:
        return os.path.exists(self._path(key))

    def response(self, key: str, *, name: str, content_type: str, etag: str, inline: bool):
        """The file, with ETag, ``If-None-Match`` → 304 and ranges → 206."""
        try:
            response = send_file(
                self._path(key),
                mimetype=content_type,
                as_attachment=not inline,
                download_name=name,
                conditional=True,
                etag=etag,
                max_age=current_app.config["ATTACHMENT_MAX_AGE"],
            )
        except FileNotFoundError:
            return None
        response.cache_control.private = True
        response.cache_control.public = False
        return response


class S3Storage:
    """Objects in one bucket of an S3-compatible store (AWS S3, MinIO, …) through boto3;
    credentials and region from the usual AWS variables. ``S3_ENDPOINT_URL`` points it at
    another store than AWS; ``S3_PUBLIC_URL`` is that store as browsers reach it (the
    presigned URLs' host), when it differs."""

    def __init__(self, bucket: str, endpoint_url: str | None, public_url: str | None) -> None:
        import boto3
        from botocore.config import Config

        options = {
            "signature_version": "s3v4",
            "connect_timeout": 5,
            "read_timeout": 30,
            "retries": {"max_attempts": 3, "mode": "standard"},
        }
        if endpoint_url:  # MinIO and the like: bucket in the path, not the host name
            options["s3"] = {"addressing_style": "path"}
        self.bucket = bucket
        self.client = boto3.client("s3", endpoint_url=endpoint_url, config=Config(**options))
        self.signer = self.client
        if public_url and public_url != endpoint_url:
            self.signer = boto3.client("s3", endpoint_url=public_url, config=Config(**options))
        parts = urlsplit(self._presign("origin-probe", {}, 60))
        self.origin = f"{parts.scheme}://{parts.netloc}"

    def spool_folder(self) -> str | None:
        return None  # the system's temporary folder

    def put(self, key: str, path: str, content_type: str) -> None:
        with open(path, "rb") as body:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes 1,000 at most
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            if answer.get("Errors"):
                raise OSError(f"S3 refused to delete {answer['Errors'][0]}")

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def _presign(self, key: str, params: dict, seconds: int) -> str:
        return self.signer.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key, **params}, ExpiresIn=seconds
        )

    def response(self, key: str, *, name: str, content_type: str, etag: str, inline: bool):
        """A redirect to a presigned URL valid for ``S3_URL_SECONDS``, which fixes the
        type and disposition the store answers with (the store does ranges and
        ``If-None-Match`` itself); the redirect itself is cached privately for half that
        time, so a page shows the same image without asking again."""
        seconds = current_app.config["S3_URL_SECONDS"]
        max_age = current_app.config["ATTACHMENT_MAX_AGE"]
        url = self._presign(
            key,
            {
                "ResponseContentType": content_type,
                "ResponseContentDisposition": content_disposition(name, inline),
                "ResponseCacheControl": f"private, max-age={max_age}",
            },
            seconds,
        )
        response = redirect(url, 302)
        response.cache_control.private = True
        response.cache_control.max_age = seconds // 2
        return response


def from_config(config) -> FolderStorage | S3Storage:
    if config["S3_BUCKET"]:
        return S3Storage(config["S3_BUCKET"], config["S3_ENDPOINT_URL"], config["S3_PUBLIC_URL"])
    return FolderStorage(config["ATTACHMENTS_FOLDER"])


def init_app(app) -> None:
    """Make the app's storage (an S3 client is made here, once: the page's CSP needs the
    store's origin before the first request)."""
    app.extensions["storage"] = from_config(app.config)


def current() -> FolderStorage | S3Storage:
    return current_app.extensions["storage"]
