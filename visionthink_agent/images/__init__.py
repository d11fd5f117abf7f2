"""The image pipeline: loading, the first-look downsample, Qwen2.5-VL token arithmetic, encoding.

Example:
    >>> from PIL import Image
    >>> from visionthink_agent.images import load_image, visual_tokens
    >>> img = load_image(Image.new("RGB", (1920, 1080)))
    >>> visual_tokens(*img.first_look_size), visual_tokens(*img.size)
    (646, 2691)
"""

from visionthink_agent.images.blocks import image_reference_from_block, is_image_block
from visionthink_agent.images.encoding import EncodedImage, encode_image
from visionthink_agent.images.errors import (
    CorruptImageError,
    DownloadError,
    ImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    LocalFileError,
    NotAnImageError,
    UnsafeURLError,
    UnsupportedSourceError,
    remedy_for,
)
from visionthink_agent.images.fetch import check_url_is_public, fetch_url
from visionthink_agent.images.first_look import (
    downsample_for_first_look,
    ensure_min_side,
    first_look_size,
)
from visionthink_agent.images.loading import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_BYTES,
    DEFAULT_PIXEL_LIMIT,
    ImageInput,
    ImageLimits,
    SourceImage,
    inline_image_bytes,
    load_image,
)
from visionthink_agent.images.modes import to_rgb
from visionthink_agent.images.regions import (
    PixelBox,
    ZoomBoxError,
    crop_region,
    crop_size,
    model_bbox,
    parse_bbox,
    zoom_box,
)
from visionthink_agent.images.tokens import (
    QWEN2_5_VL,
    QWEN3_VL,
    TokenAccount,
    VisionGeometry,
    smart_resize,
    visual_tokens,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_PIXEL_LIMIT",
    "QWEN2_5_VL",
    "QWEN3_VL",
    "CorruptImageError",
    "DownloadError",
    "EncodedImage",
    "ImageError",
    "ImageInput",
    "ImageLimits",
    "ImageTooLargeError",
    "ImageTooSmallError",
    "LocalFileError",
    "NotAnImageError",
    "PixelBox",
    "SourceImage",
    "TokenAccount",
    "UnsafeURLError",
    "UnsupportedSourceError",
    "VisionGeometry",
    "ZoomBoxError",
    "check_url_is_public",
    "crop_region",
    "crop_size",
    "downsample_for_first_look",
    "encode_image",
    "ensure_min_side",
    "fetch_url",
    "first_look_size",
    "image_reference_from_block",
    "inline_image_bytes",
    "is_image_block",
    "load_image",
    "model_bbox",
    "parse_bbox",
    "remedy_for",
    "smart_resize",
    "to_rgb",
    "visual_tokens",
    "zoom_box",
]
