"""Every documented image source loads; every bad input fails with a typed, named error."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import encode
from tests.core.conftest import photo
from visionthink_agent.images import (
    CorruptImageError,
    ImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    LocalFileError,
    NotAnImageError,
    UnsupportedSourceError,
    image_reference_from_block,
    inline_image_bytes,
    is_image_block,
    load_image,
)

SIZE = (64, 48)


@pytest.fixture
def png() -> bytes:
    return encode(photo(*SIZE), "PNG")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- sources ------------------------------------------------------------------------------------
def test_bytes_bytearray_memoryview(png: bytes) -> None:
    for source in (png, bytearray(png), memoryview(png)):
        assert load_image(source).size == SIZE


def test_paths_str_pathlike_file_url(png: bytes, tmp_path: Path) -> None:
    path = tmp_path / "a picture.png"
    path.write_bytes(png)
    assert load_image(path).size == SIZE
    assert load_image(str(path)).size == SIZE
    assert load_image(path.as_uri()).size == SIZE  # file:// with a %20 in it


def test_base64_data_url_and_urlsafe(png: bytes) -> None:
    assert load_image(b64(png)).size == SIZE
    assert load_image(f"data:image/png;base64,{b64(png)}").size == SIZE
    assert load_image(base64.urlsafe_b64encode(png).decode().rstrip("=")).size == SIZE
    wrapped = "\n".join(b64(png)[i : i + 76] for i in range(0, len(b64(png)), 76))
    assert load_image(wrapped).size == SIZE


def test_pil_image_and_source_image_pass_through() -> None:
    pil = photo(*SIZE)
    src = load_image(pil)
    assert src.size == SIZE
    assert src.data is None
    assert load_image(src) is src
    assert src.high_res_payload().mime_type == "image/png"


def _blocks(data: str, url: str) -> list[dict[str, Any]]:
    return [
        {"type": "image", "base64": data, "mime_type": "image/png"},  # LangChain v1
        {"type": "image", "url": url},  # LangChain v1 URL
        {"type": "image", "source_type": "base64", "data": data, "mime_type": "image/png"},
        {"type": "image", "source_type": "url", "url": url},  # legacy LangChain
        {"type": "image_url", "image_url": {"url": url}},  # OpenAI chat, object
        {"type": "image_url", "image_url": url},  # OpenAI chat, string
        {"type": "input_image", "image_url": url},  # OpenAI Responses
        {"type": "image", "data": data, "mimeType": "image/png"},  # camelCase (chat UIs)
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}},
    ]


def test_every_documented_content_block(png: bytes) -> None:
    url = f"data:image/png;base64,{b64(png)}"
    for block in _blocks(b64(png), url):
        assert is_image_block(block), block
        assert load_image(block).size == SIZE, block


def test_file_path_blocks_only_when_local_files_are_allowed(png: bytes, tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(png)
    local = [
        {"type": "image", "file_path": str(path)},
        {"type": "image", "url": path.as_uri()},
        {"type": "image_url", "image_url": {"url": path.as_uri()}},
        {"type": "image", "image": str(path)},
        {"type": "image", "path": str(path)},
    ]
    for block in local:
        with pytest.raises(LocalFileError, match="allow_local_files=True") as caught:
            load_image(block)
        assert caught.value.setting == "allow_local_files"
        assert load_image(block, allow_local_files=True).size == SIZE
    assert image_reference_from_block({"type": "image", "image": str(path)}) == str(path)


def test_refused_local_file_is_not_even_looked_at(tmp_path: Path) -> None:
    """The refusal comes before any file-system access: no existence oracle for clients."""
    missing = {"type": "image", "file_path": str(tmp_path / "missing.png")}
    present = {"type": "image", "file_path": "/etc/hostname"}
    for block in (missing, present):
        with pytest.raises(LocalFileError, match="local files are off"):
            load_image(block)


def test_errors_name_the_source_and_never_echo_its_bytes(tmp_path: Path) -> None:
    secret = b"s3cr3t:x:0:0:s3cr3t:/home:/bin/sh\n" * 40
    path = tmp_path / "passwd"
    path.write_bytes(secret)
    attempts = [
        lambda: load_image(path),
        lambda: load_image(str(path)),
        lambda: load_image(path.as_uri()),
        lambda: load_image({"type": "image", "file_path": str(path)}, allow_local_files=True),
        lambda: load_image(secret),
        lambda: load_image("data:image/png;base64," + b64(secret)),
    ]
    for attempt in attempts:
        with pytest.raises(NotAnImageError) as caught:
            attempt()
        message = str(caught.value)
        assert "s3cr3t" not in message, message
        assert "\\x" not in message, message
        assert "b'" not in message, message
    with pytest.raises(NotAnImageError, match=str(path)):
        load_image(path)


def test_blocks_without_an_image_reference_are_refused() -> None:
    assert not is_image_block({"type": "text", "text": "hi"})
    for block in (
        {"type": "image", "file_id": "file-123"},
        {"type": "image_url", "image_url": {"detail": "high"}},
        {"type": "input_image", "file_id": "file-123"},
    ):
        with pytest.raises(UnsupportedSourceError, match="block"):
            load_image(block)


# -- bad inputs ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data", [b"not an image at all", b"%PDF-1.7\n", b"\x00" * 100, b"GIF87a"], ids=str
)
def test_not_an_image(data: bytes) -> None:
    with pytest.raises((NotAnImageError, CorruptImageError)):
        load_image(data)


def test_plain_text_is_not_an_image() -> None:
    with pytest.raises(NotAnImageError, match="not an image"):
        load_image(b"hello, this is text")
    with pytest.raises(NotAnImageError, match="0 bytes"):
        load_image(b"")


def test_data_url_of_another_type_and_bad_base64() -> None:
    with pytest.raises(NotAnImageError, match="text/plain"):
        load_image("data:text/plain;base64,aGVsbG8=")
    with pytest.raises(UnsupportedSourceError, match="base64"):
        load_image("data:image/png,rawdata")
    with pytest.raises(NotAnImageError, match="not valid base64"):
        load_image("data:image/png;base64,@@@@")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_fails_at_first_look(fmt: str) -> None:
    data = encode(photo(), fmt)
    src = load_image(data[: len(data) // 2])  # the header is intact: loading is lazy
    assert src.size == (640, 480)
    with pytest.raises(CorruptImageError, match="cannot decode"):
        src.first_look_payload()


def test_truncated_webp_fails_at_load() -> None:
    """Pillow's WebP reader builds its decoder on open, so a cut WebP fails at once."""
    data = encode(photo(), "WEBP")
    with pytest.raises(CorruptImageError, match="header"):
        load_image(data[: len(data) // 2])


def test_damaged_header_is_corrupt_not_unknown() -> None:
    data = bytearray(encode(photo(*SIZE), "PNG"))
    data[16:24] = b"\xff" * 8  # IHDR width/height: absurd and CRC-broken
    with pytest.raises(ImageError):
        load_image(bytes(data)).decode()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width × height`` (the pixel data is a stub)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def test_decompression_bomb_default_and_configurable_limit() -> None:
    with pytest.raises(ImageTooLargeError, match="over the limit"):
        load_image(_png_header_only(30000, 30000))  # 900 MP from a 60-byte file
    with pytest.raises(ImageTooLargeError, match="max_pixels"):
        load_image(_png_header_only(2000, 2000), max_pixels=1_000_000)
    assert load_image(_png_header_only(2000, 2000), max_pixels=4_000_000).size == (2000, 2000)
    with pytest.raises(ImageTooLargeError, match="over the limit"):
        load_image(Image.new("L", (100, 100)), max_pixels=9999)


def test_our_pixel_limit_replaces_pillows_in_our_words() -> None:
    message = r"image is 30000x30000 = 900000000 pixels, over the limit of 89478485 \(raise"
    with pytest.raises(ImageTooLargeError, match=message):
        load_image(_png_header_only(30000, 30000))  # over Pillow's 178,956,970 as well
    assert load_image(_png_header_only(30000, 30000), max_pixels=10**9).size == (30000, 30000)
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # Pillow's setting is left as it was


def test_an_image_allowed_above_pillows_limit_is_decoded_and_cropped(
    png: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Pillow's guard at 1000 pixels, a 64x48 image (3072) allowed by ours still decodes."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    source = load_image(png, max_pixels=10_000)
    assert source.decode().size == SIZE
    assert source.first_look().size == source.first_look_size
    assert source.zoom((0, 0, 64, 48)).size == SIZE
    assert Image.MAX_IMAGE_PIXELS == 1000
    with pytest.raises(ImageTooLargeError, match=r"over the limit of 3000 \(raise max_pixels"):
        load_image(png, max_pixels=3000)


def test_byte_cap(png: bytes, tmp_path: Path) -> None:
    with pytest.raises(ImageTooLargeError, match="byte limit"):
        load_image(png, max_bytes=100)
    path = tmp_path / "x.png"
    path.write_bytes(png)
    with pytest.raises(ImageTooLargeError, match="byte limit"):
        load_image(path, max_bytes=100)
    with pytest.raises(ImageTooLargeError, match="byte limit"):
        load_image(f"data:image/png;base64,{b64(png)}", max_bytes=100)


def test_zero_and_absurd_sizes() -> None:
    with pytest.raises(ImageTooSmallError, match="zero side"):
        load_image(Image.new("RGB", (0, 10)))
    with pytest.raises(ImageTooLargeError, match="aspect ratio"):
        load_image(encode(Image.new("L", (201, 1)), "PNG"))
    with pytest.raises(ImageTooLargeError, match="aspect ratio"):
        load_image(_png_header_only(10, 5000))
    assert load_image(encode(Image.new("L", (200, 1)), "PNG")).size == (200, 1)


@pytest.mark.parametrize(
    "source",
    ["ftp://example.com/a.png", "gopher://x/y", "s3://bucket/key.png", "javascript:alert(1)"],
)
def test_unsupported_scheme(source: str) -> None:
    with pytest.raises(UnsupportedSourceError):
        load_image(source)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedSourceError, match="no such image file"):
        load_image(str(tmp_path / "missing.png"))
    with pytest.raises(UnsupportedSourceError, match="not a file"):
        load_image(tmp_path)


def test_other_python_objects_are_refused() -> None:
    with pytest.raises(UnsupportedSourceError, match="int"):
        load_image(42)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedSourceError):
        load_image("just some words, nothing else!")


def test_every_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the point is the base class
        load_image(io.BytesIO(b"x"))  # type: ignore[arg-type]


def test_strings_that_are_no_valid_file_name_are_not_os_errors() -> None:
    long_segment = "A" * 300 + "/" + "B" * 300 + "=="  # base64-looking, ENAMETOOLONG as a path
    with pytest.raises(NotAnImageError):
        load_image(long_segment)
    with pytest.raises(UnsupportedSourceError, match="cannot read"):
        load_image("bad\x00name.png")
    with pytest.raises(UnsupportedSourceError, match="cannot read"):
        load_image("x" * 300 + ".png")


def test_directory_given_as_a_string(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedSourceError, match="not a file"):
        load_image(str(tmp_path))


# -- inline bytes (hashed before opening) -------------------------------------------------------
def test_inline_image_bytes_from_every_inline_form(png: bytes) -> None:
    url = f"data:image/png;base64,{b64(png)}"
    inline = [png, bytearray(png), url, *(b for b in _blocks(b64(png), url))]
    for source in inline:
        assert inline_image_bytes(source) == png, source


def test_inline_image_bytes_is_none_for_what_must_be_read(png: bytes, tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(png)
    for source in (
        str(path),
        path,
        "https://example.com/x.png",
        {"type": "image", "url": "https://example.com/x.png"},
        {"type": "image", "file_path": str(path)},
        photo(*SIZE),
    ):
        assert inline_image_bytes(source) is None, source


def test_inline_image_bytes_refuses_what_load_image_refuses(png: bytes) -> None:
    with pytest.raises(NotAnImageError, match="text/plain"):
        inline_image_bytes("data:text/plain;base64,aGVsbG8=")
    with pytest.raises(NotAnImageError, match="not valid base64"):
        inline_image_bytes({"type": "image", "base64": "@@@@", "mime_type": "image/png"})
    with pytest.raises(ImageTooLargeError):
        inline_image_bytes(png, max_bytes=10)
    with pytest.raises(ImageTooLargeError):
        inline_image_bytes(f"data:image/png;base64,{b64(png)}", max_bytes=10)
