"""Files to upload (images with metadata, broken ones, bombs) and a real S3 API server
(moto's, on a free port) for the attachment tests."""

from __future__ import annotations

import contextlib
import io
import os
import struct
import uuid
import zlib

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def image_bytes(fmt: str, size=(640, 480), *, mode="RGB", exif=True, frames=1, **extra) -> bytes:
    """An image in ``fmt`` with EXIF (a camera, GPS, an orientation) and, for PNG, a text
    chunk: everything an upload must lose."""
    image = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None)
    for x in range(0, size[0], 7):  # some detail, so encoders have work to do
        image.putpixel((x, x % size[1]), (0, 0, 255) if mode == "RGB" else 1)
    options = dict(extra)
    if exif:
        data = Image.Exif()
        data[0x010F] = "SpyCam"  # Make
        data[ORIENTATION] = options.pop("orientation", 1)
        data.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)})
        options["exif"] = data.tobytes()
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        text = PngInfo()
        text.add_text("Comment", "secret location")
        options["pnginfo"] = text
    if frames > 1:
        others = [
            Image.new(mode, size, (30, 30 * i % 255, 200) if mode == "RGB" else None)
            for i in range(1, frames)
        ]
        options.update(save_all=True, append_images=others, duration=80, loop=0)
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def png_header_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG that claims width x height pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"


# What an image file says of its own encoding, not of where or by whom it was made.
STRUCTURE = ("icc_profile", "jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi")


def metadata_of(data: bytes) -> dict:
    """What an image file says besides its pixels."""
    with Image.open(io.BytesIO(data)) as image:
        found = {key: value for key, value in image.info.items() if key not in STRUCTURE}
        exif = image.getexif()
        if exif:
            found["exif"] = dict(exif)
        return found


@contextlib.contextmanager
def moto_s3():
    """A real S3 API (moto's server) on a free port of 127.0.0.1, and the environment
    boto3 reads its credentials from."""
    from moto.server import ThreadedMotoServer

    from tests.servers import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    saved["AWS_DEFAULT_REGION"] = os.environ.get("AWS_DEFAULT_REGION")
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def new_bucket(endpoint: str) -> str:
    import boto3

    name = f"chat-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=name)
    return name


def bucket_keys(endpoint: str, bucket: str) -> list[str]:
    import boto3

    found = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in found.get("Contents", []))
