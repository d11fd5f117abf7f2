"""Pixels: EXIF orientation, modes, animation, first-look sizes, the fast JPEG path, passthrough."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat, JpegImagePlugin
from PIL.JpegImagePlugin import JpegImageFile

from tests.conftest import encode
from tests.core.conftest import photo
from visionthink_agent.images import (
    ImageTooLargeError,
    SourceImage,
    downsample_for_first_look,
    encode_image,
    first_look_size,
    load_image,
    to_rgb,
)

ORIENTATION = 0x0112


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def is_red(pixel: object) -> bool:
    assert isinstance(pixel, tuple)
    r, g, b = pixel
    return bool(r > 150 and g < 80 and b < 80)


def with_orientation(image: Image.Image, orientation: int, fmt: str = "JPEG") -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return encode(image, fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))


# -- EXIF orientation -------------------------------------------------------------------------
@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_orientation_is_applied(orientation: int, fmt: str) -> None:
    raw = photo(120, 80)
    data = with_orientation(raw, orientation, fmt)
    src = load_image(data)
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    assert src.orientation == orientation
    assert src.size == expected.size == ((80, 120) if orientation >= 5 else (120, 80))
    assert src.decode().tobytes() == expected.tobytes()
    assert (
        src.first_look().size == src.first_look_size == (expected.width // 2, expected.height // 2)
    )
    # the fast path must rotate too: compare with the exact first look
    assert mean_abs_diff(src.first_look(), src.first_look(exact=True)) < 6
    assert src.can_pass_through == (orientation == 1)
    payload = src.high_res_payload()
    assert (payload.width, payload.height) == src.size
    assert Image.open(io.BytesIO(payload.data)).size == src.size


def test_png_exif_chunk_after_the_pixels_is_read_without_decoding() -> None:
    data = with_orientation(photo(40, 30), 6, "PNG")
    # move the eXIf chunk after IDAT, where Pillow only sees it after decoding
    start = data.index(b"eXIf") - 4
    length = int.from_bytes(data[start : start + 4], "big")
    chunk = data[start : start + 12 + length]
    rest = data[:start] + data[start + 12 + length :]
    moved = rest.replace(b"\x00\x00\x00\x00IEND", chunk + b"\x00\x00\x00\x00IEND")
    assert moved.index(b"eXIf") > moved.index(b"IDAT")
    src = load_image(moved)
    assert src.orientation == 6
    assert src.size == (30, 40) == src.decode().size


# -- modes ---------------------------------------------------------------------------------
def _palette_image(transparent: bool) -> Image.Image:
    img = Image.new("P", (4, 2), 0)
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.putpixel((1, 0), 1)
    if transparent:
        img.info["transparency"] = 0
    return img


MODES: list[tuple[str, Image.Image, tuple[int, int, int], tuple[int, int, int]]] = [
    ("P", _palette_image(False), (255, 0, 0), (0, 0, 255)),
    ("P+transparency", _palette_image(True), (255, 255, 255), (0, 0, 255)),
    ("RGBA", Image.new("RGBA", (4, 2), (255, 0, 0, 0)), (255, 255, 255), (255, 255, 255)),
    ("LA", Image.new("LA", (4, 2), (0, 0)), (255, 255, 255), (255, 255, 255)),
    ("CMYK", Image.new("CMYK", (4, 2), (0, 0, 0, 0)), (255, 255, 255), (255, 255, 255)),
    ("I;16", Image.new("I;16", (4, 2), 65535), (255, 255, 255), (255, 255, 255)),
    ("1", Image.new("1", (4, 2), 1), (255, 255, 255), (255, 255, 255)),
    ("L", Image.new("L", (4, 2), 128), (128, 128, 128), (128, 128, 128)),
]


@pytest.mark.parametrize(("name", "image", "at_0_0", "at_1_0"), MODES, ids=[m[0] for m in MODES])
def test_modes_to_rgb(
    name: str, image: Image.Image, at_0_0: tuple[int, ...], at_1_0: tuple[int, ...]
) -> None:
    rgb = to_rgb(image)
    assert rgb.mode == "RGB"
    assert rgb.size == image.size
    assert rgb.getpixel((0, 0)) == at_0_0
    assert rgb.getpixel((1, 0)) == at_1_0


def test_semi_transparent_alpha_is_composited_on_white() -> None:
    assert to_rgb(Image.new("RGBA", (1, 1), (0, 0, 0, 128))).getpixel((0, 0)) == (127, 127, 127)


@pytest.mark.parametrize("mode", ["I", "F"])
def test_wide_greyscale_is_stretched_not_clipped(mode: str) -> None:
    img = Image.new(mode, (3, 1))
    for x, v in enumerate((-1000, 0, 70000)):
        img.putpixel((x, 0), v)
    rgb = to_rgb(img)
    assert [rgb.getpixel((x, 0)) for x in range(3)] == [(0, 0, 0), (3, 3, 3), (255, 255, 255)]
    assert to_rgb(Image.new(mode, (2, 2), 7)).getpixel((0, 0)) == (0, 0, 0)  # flat: no div by 0


def test_i16_keeps_its_gradations() -> None:
    img = Image.new("I;16", (2, 1))
    img.putpixel((0, 0), 256 * 10)
    img.putpixel((1, 0), 256 * 200)
    rgb = to_rgb(img)
    assert rgb.getpixel((0, 0)) == (10, 10, 10)
    assert rgb.getpixel((1, 0)) == (200, 200, 200)


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("P", "PNG"),
        ("LA", "PNG"),
        ("I;16", "PNG"),
        ("1", "PNG"),
        ("CMYK", "JPEG"),
        ("CMYK", "TIFF"),
        ("F", "TIFF"),
        ("I", "TIFF"),
        ("L", "JPEG"),
    ],
)
def test_files_in_any_mode_give_rgb_views_and_are_re_encoded(mode: str, fmt: str) -> None:
    image = photo(120, 80).convert("L" if mode in ("I;16", "I", "F") else "RGB").convert(mode)
    src = load_image(encode(image, fmt))
    assert src.first_look().mode == "RGB"
    assert src.first_look().size == (60, 40)
    assert src.decode().mode == "RGB"
    payload = src.high_res_payload()
    grey_passthrough = mode == "L" and fmt == "JPEG"
    assert src.can_pass_through == grey_passthrough
    decoded = Image.open(io.BytesIO(payload.data))
    assert decoded.size == (120, 80)
    if not grey_passthrough:
        assert decoded.mode == "RGB"
        assert payload.mime_type in ("image/png", "image/jpeg", "image/webp")


def test_cmyk_jpeg_colours_survive_the_fast_path() -> None:
    src = load_image(encode(Image.new("RGB", (64, 64), (200, 30, 30)).convert("CMYK"), "JPEG"))
    assert is_red(src.first_look().getpixel((10, 10)))


# -- animation --------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_images_use_the_first_frame(fmt: str) -> None:
    frames = [Image.new("RGB", (64, 48), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    src = load_image(data)
    assert src.frames == 3
    assert not src.can_pass_through
    assert is_red(src.first_look().getpixel((5, 5)))
    high = Image.open(io.BytesIO(src.high_res_payload().data))
    assert getattr(high, "n_frames", 1) == 1
    assert is_red(high.convert("RGB").getpixel((5, 5)))


# -- first-look sizes -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((641, 481), (320, 240)),
        ((101, 61), (50, 30)),
        ((57, 57), (28, 28)),
        ((56, 56), (28, 28)),
        ((55, 55), (28, 28)),  # 27×27 after halving → scaled up to 28
        ((40, 300), (28, 210)),
        ((1, 1), (28, 28)),
        ((1, 200), (28, 2800)),
        ((5, 500), (28, 3500)),
    ],
)
def test_first_look_sizes(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert first_look_size(*size) == expected
    image = photo(*size) if min(size) > 1 else Image.new("RGB", size, "red")
    assert downsample_for_first_look(image).size == expected
    for fmt in ("PNG", "JPEG"):
        src = load_image(encode(image, fmt))
        assert src.first_look_size == expected
        assert src.first_look().size == expected
        assert src.first_look(exact=True).size == expected
        assert min(src.high_res_size) >= 28
        high = src.high_res_payload()
        assert (high.width, high.height) == src.high_res_size
        assert Image.open(io.BytesIO(high.data)).size == src.high_res_size


def test_thin_images_whose_first_look_the_model_cannot_take_are_refused() -> None:
    """3×500 is within the 200 aspect limit, but its first look (1×250 → 28×7000) is not."""
    assert first_look_size(3, 500) == (28, 7000)
    with pytest.raises(ImageTooLargeError, match="first look"):
        load_image(encode(Image.new("RGB", (3, 500)), "PNG"))


def test_tiny_originals_are_scaled_up_for_the_high_res_view() -> None:
    src = load_image(encode(Image.new("RGB", (10, 100), "red"), "PNG"))
    assert src.high_res_size == (28, 280)
    assert not src.can_pass_through
    assert src.token_account(resized=True).high_res == 10


# -- fast JPEG path vs the training-identical path ----------------------------------------------
@pytest.mark.parametrize("size", [(640, 480), (641, 479), (1001, 667), (96, 2000)])
def test_fast_jpeg_first_look_is_close_to_the_exact_one(size: tuple[int, int]) -> None:
    src = load_image(encode(photo(*size), "JPEG", quality=90))
    fast, exact = src.first_look(), src.first_look(exact=True)
    assert fast.size == exact.size == first_look_size(*size)
    assert mean_abs_diff(fast, exact) < 4.0
    assert exact.tobytes() == downsample_for_first_look(src.decode()).tobytes()
    with Image.open(io.BytesIO(src.data or b"")) as im:
        full = im.convert("RGB")
    assert exact.tobytes() == downsample_for_first_look(full).tobytes()


@pytest.fixture
def decoded_sizes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Records the pixel size of every JPEG Pillow actually decodes."""
    sizes: list[tuple[int, int]] = []
    original = JpegImageFile.load

    def spy(self: JpegImageFile) -> object:
        result = original(self)
        sizes.append(self.im.size if self.im is not None else self.size)
        return result

    monkeypatch.setattr(JpegImageFile, "load", spy)
    return sizes


def test_jpeg_first_look_never_decodes_at_full_resolution(decoded_sizes: list) -> None:
    data = encode(photo(2000, 1500), "JPEG", quality=90)
    src = load_image(data)
    assert decoded_sizes == []  # loading reads the header only
    payload = src.first_look_payload()
    assert (payload.width, payload.height) == (1000, 750)
    assert decoded_sizes
    assert max(w * h for w, h in decoded_sizes) <= 1000 * 750
    assert src.high_res_payload().data == data  # passthrough: still no full decode
    assert max(w * h for w, h in decoded_sizes) <= 1000 * 750
    src.first_look(exact=True)  # the exact path is the one that decodes everything
    assert (2000, 1500) in decoded_sizes


def test_loading_decodes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str | None] = []
    original = Image.Image.load

    def spy(self: Image.Image) -> object:
        calls.append(self.format)
        return original(self)

    data = {fmt: encode(photo(300, 200), fmt) for fmt in ("JPEG", "PNG", "GIF", "TIFF")}
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    for fmt, blob in data.items():
        src = load_image(blob)
        assert src.size == (300, 200), fmt
        assert src.token_account(resized=True).first_look > 0
    assert calls == []


# -- high-res passthrough ----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_upright_rgb_originals_pass_through_untouched(fmt: str) -> None:
    data = encode(photo(200, 100), fmt)
    src = load_image(data)
    assert src.can_pass_through
    payload = src.high_res_payload()
    assert payload.data is data or payload.data == data
    assert payload.mime_type == f"image/{fmt.lower()}"
    assert (payload.width, payload.height) == (200, 100)
    assert payload.data_url().startswith(f"data:image/{fmt.lower()};base64,")


@pytest.mark.parametrize(
    ("image", "fmt", "mime"),
    [
        (Image.new("RGBA", (64, 64), (1, 2, 3, 100)), "PNG", "image/png"),
        (Image.new("RGBA", (64, 64), (1, 2, 3, 100)), "WEBP", "image/webp"),
        (Image.new("RGB", (64, 64)).convert("CMYK"), "JPEG", "image/jpeg"),
        (Image.new("RGB", (64, 64)), "BMP", "image/png"),
        (Image.new("RGB", (64, 64)), "TIFF", "image/png"),
        (Image.new("RGB", (64, 64)), "GIF", "image/png"),
    ],
)
def test_other_originals_are_re_encoded(image: Image.Image, fmt: str, mime: str) -> None:
    data = encode(image, fmt)
    src = load_image(data)
    assert not src.can_pass_through
    payload = src.high_res_payload()
    assert payload.data != data
    assert payload.mime_type == mime
    assert Image.open(io.BytesIO(payload.data)).mode in ("RGB", "L")


def test_first_look_payload_formats_follow_the_source() -> None:
    for fmt, mime in (
        ("JPEG", "image/jpeg"),
        ("WEBP", "image/webp"),
        ("PNG", "image/png"),
        ("GIF", "image/png"),
    ):
        payload = load_image(encode(photo(100, 80), fmt)).first_look_payload()
        assert payload.mime_type == mime
        assert (
            Image.open(io.BytesIO(payload.data)).size == (50, 40) == (payload.width, payload.height)
        )


def test_views_are_cached_and_repr_is_informative() -> None:
    src = load_image(encode(photo(100, 80), "JPEG"))
    assert src.first_look_payload() is src.first_look_payload()
    assert src.decode() is src.decode()
    assert repr(src) == "SourceImage(JPEG 100x80, mode=RGB)"
    assert isinstance(src, SourceImage)


# -- JPEG re-encodes keep the source's chroma subsampling ----------------------------------------
@pytest.mark.parametrize("subsampling", [0, 1, 2])
def test_jpeg_payloads_keep_the_source_subsampling(subsampling: int) -> None:
    data = encode(photo(200, 100), "JPEG", quality=90, subsampling=subsampling)
    rotated = with_orientation(photo(200, 100), 6)  # forces a high-res re-encode too
    for blob in (data, rotated):
        src = load_image(blob)
        sampling = JpegImagePlugin.get_sampling(Image.open(io.BytesIO(blob)))
        assert src.jpeg_subsampling == sampling
        for payload in (src.first_look_payload(), src.high_res_payload()):
            with Image.open(io.BytesIO(payload.data)) as out:
                assert JpegImagePlugin.get_sampling(out) == sampling
    assert load_image(encode(photo(20, 20), "PNG")).jpeg_subsampling is None
    assert load_image(encode(photo(40, 40).convert("L"), "JPEG")).jpeg_subsampling is None


def test_encode_image_rejects_unknown_options() -> None:
    with pytest.raises(ValueError, match="jpeg_subsampling"):
        encode_image(photo(8, 8), "JPEG", jpeg_subsampling=3)
    with pytest.raises(ValueError, match="cannot encode as 'GIF'"):
        encode_image(photo(8, 8), "gif")


def test_phone_camera_mpo_is_handled_like_a_jpeg(decoded_sizes: list[tuple[int, int]]) -> None:
    buffer = io.BytesIO()
    photo(400, 300).save(buffer, "MPO", save_all=True, append_images=[photo(200, 150)])
    src = load_image(buffer.getvalue())
    assert src.format == "MPO"
    first = src.first_look_payload()
    assert first.mime_type == "image/jpeg"
    assert max(w * h for w, h in decoded_sizes) <= 200 * 150  # the fast half-scale path
    high = src.high_res_payload()
    assert high.mime_type == "image/jpeg"
    with Image.open(io.BytesIO(high.data)) as out:
        assert out.size == (400, 300)
        assert out.format == "JPEG"
