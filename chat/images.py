"""What to store for an uploaded file, from its bytes alone: PNG, JPEG, GIF and WebP
images decoded and encoded again without their metadata (EXIF, GPS, text), with a WebP
thumbnail; anything else as it is, with the type ``filetype`` sniffs. Runs on an OS thread
(no app context, no database); ``chat/attachments.py`` hands the work over.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
from dataclasses import dataclass

import filetype

from chat import rules
from chat.errors import Failure, invalid

MB = 1024 * 1024
# Pillow formats shown inline, and the types they are served as.
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
THUMB_TYPE = "image/webp"
MAX_FRAMES = 1000  # of an animated GIF or WebP


@dataclass
class Processed:
    path: str  # the file to store
    size: int
    content_type: str
    sha256: str
    width: int | None = None
    height: int | None = None
    thumb_path: str | None = None


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def process(path: str, work: str, max_pixels: int) -> Processed | Failure:
    """What to store for the uploaded file at ``path`` (new files go in ``work``): an
    image of ours decoded and encoded again with a thumbnail, anything else as it is with
    its sniffed type; or why it is refused (empty, a broken image, too many pixels)."""
    from PIL import Image, UnidentifiedImageError

    size = os.path.getsize(path)
    if size == 0:
        return invalid("file: is empty")
    try:
        image = Image.open(path, formats=list(IMAGE_TYPES))
    except UnidentifiedImageError:
        kind = filetype.guess(path)
        if kind is not None and kind.mime in IMAGE_TYPES.values():
            return invalid(f"file: a broken {kind.extension.upper()} image")
        content_type = kind.mime if kind is not None else "application/octet-stream"
        return Processed(path, size, content_type, _sha256(path))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return invalid(f"file: an image of more than {max_pixels} pixels")
    except (OSError, ValueError, SyntaxError, EOFError):
        return invalid("file: a broken image")
    with image:
        try:
            return _reencode(image, work, max_pixels)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return invalid(f"file: an image of more than {max_pixels} pixels")
        except (OSError, ValueError, SyntaxError, EOFError, MemoryError):
            return invalid("file: a broken image")


def _reencode(image, work: str, max_pixels: int) -> Processed | Failure:
    """The image decoded and written again with no metadata (the colour profile and
    transparency kept), and its thumbnail; pixels are counted before anything is
    decoded."""
    from PIL import ImageOps, ImageSequence

    format_ = image.format
    width, height = image.size
    if width * height > max_pixels:
        return invalid(f"file: an image of more than {max_pixels} pixels")
    frames = getattr(image, "n_frames", 1) if format_ in ("GIF", "WEBP") else 1
    if frames > MAX_FRAMES or frames * width * height > max_pixels:
        return invalid(f"file: an animation of more than {max_pixels} pixels in all")
    out = os.path.join(work, "image")
    icc = image.info.get("icc_profile")
    if frames > 1:
        sequence, durations = [], []
        for frame in ImageSequence.Iterator(image):
            durations.append(frame.info.get("duration", 100))
            sequence.append(_bare(frame.convert("RGBA")))
        first = sequence[0]
        options = {"save_all": True, "append_images": sequence[1:], "duration": durations}
        options["loop"] = image.info.get("loop", 0)
        if format_ == "GIF":
            first.save(out, "GIF", disposal=2, **options)
        else:
            first.save(out, "WEBP", quality=90, **options)
    else:
        image.load()
        if format_ == "JPEG":
            # The EXIF orientation goes with EXIF: applied to the pixels (in place, so an
            # upright photo is not copied whole).
            ImageOps.exif_transpose(image, in_place=True)
        first = _bare(image, keep_transparency=True)
        if format_ == "JPEG":
            if first.mode not in ("RGB", "L"):
                first = _bare(first.convert("RGB"))
            first.save(out, "JPEG", quality=90, icc_profile=icc)
        elif format_ == "PNG":
            first.save(out, "PNG", icc_profile=icc)
        elif format_ == "GIF":
            first.save(out, "GIF")
        else:
            if first.mode not in ("RGB", "RGBA"):
                first = _bare(first.convert("RGBA"))
            first.save(out, "WEBP", quality=90, icc_profile=icc)
    thumb = os.path.join(work, "thumb")
    small = first if first.mode in ("RGB", "RGBA") else first.convert("RGBA")
    scale = min(1.0, rules.THUMBNAIL_SIZE / max(small.size))
    size = (max(1, round(small.width * scale)), max(1, round(small.height * scale)))
    # A new small image (no copy of the big one): halved in steps, then resampled.
    small.resize(size, reducing_gap=2.0).save(thumb, "WEBP", quality=80)
    shown_width, shown_height = first.size
    return Processed(
        out,
        os.path.getsize(out),
        IMAGE_TYPES[format_],
        _sha256(out),
        shown_width,
        shown_height,
        thumb,
    )


def _bare(image, keep_transparency: bool = False):
    """The image without what its file said besides the pixels (EXIF, XMP, text,
    comments): only a palette's transparent entry survives, when asked."""
    if keep_transparency and image.mode == "P" and "transparency" in image.info:
        # Bytes of transparency convert with a warning; RGBA says the same plainly.
        image = image.convert("RGBA")
    kept = {}
    if keep_transparency and "transparency" in image.info:
        kept["transparency"] = image.info["transparency"]
    image.info = kept
    if hasattr(image, "_exif"):
        image._exif = None
    return image


# glibc's M_MMAP_THRESHOLD (mallopt's parameter number).
_M_MMAP_THRESHOLD = -3


def big_blocks_from_mmap(threshold: int = 4 * MB) -> None:
    """Allocations of ``threshold`` bytes or more always from fresh mappings (glibc).

    Pillow asks for an image's memory zeroed (calloc), with the GIL held. Fresh pages
    come zeroed from the kernel for free, but glibc raises its mmap threshold as big
    blocks are freed, and then serves them from the heap, which calloc must zero itself:
    measured here, ~120 ms of every second spent decoding 12-megapixel photos held the
    GIL that way, and the event loop (which needs the GIL) waited. A fixed threshold
    keeps them mapped; the zeroing then happens as the decoder, which lets go of the
    GIL, first writes each page. Elsewhere than glibc this does nothing."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, threshold)
