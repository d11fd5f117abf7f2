"""One-line messages for the command line's failures, naming the flag that changes them.

Messages never quote a response body or a file's bytes: a server's error names its URL and
HTTP status, an image's error names the image and the problem.

Example:
    >>> from visionthink_agent.images import ImageTooLargeError
    >>> describe_image_error(ImageTooLargeError("x.png is 9x9 = 81 pixels", setting="max_pixels"))
    'cannot use the image: x.png is 9x9 = 81 pixels (raise --max-pixels to allow it)'
"""

from __future__ import annotations

import openai

from visionthink_agent.images import ImageError, remedy_for
from visionthink_agent.urls import display_url

__all__ = ["IMAGE_FLAGS", "CommandError", "describe_image_error", "describe_model_failure"]

IMAGE_FLAGS = {
    "allow_private_urls": "--allow-private-urls",
    "max_pixels": "--max-pixels",
    "max_bytes": "--max-bytes",
    "timeout": "--timeout",
}
"""``load_image`` keywords (``ImageError.setting``) and the ``ask`` flags that set them."""


class CommandError(Exception):
    """A failure reported to the user as one clear message, with an exit code.

    Example:
        >>> CommandError("the question is empty", 2).code
        2
    """

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def describe_image_error(exc: ImageError) -> str:
    """The image's problem, ending with the flag that changes it when there is one.

    Example:
        >>> from visionthink_agent.images import NotAnImageError
        >>> describe_image_error(NotAnImageError("a.png is not an image Pillow can read"))
        'cannot use the image: a.png is not an image Pillow can read'
    """
    flag = IMAGE_FLAGS.get(exc.setting or "")
    if flag is None or exc.setting is None:
        return f"cannot use the image: {exc}"
    return f"cannot use the image: {exc.problem} ({remedy_for(exc.setting, flag)})"


_STATUS_FIXES = {
    400: "it refused the request; a prompt and --max-new-tokens above its context (vLLM's "
    "--max-model-len) is the usual cause: its log says why",
    404: "check --model against the names at --base-url's /models",
}
"""What to change for the HTTP statuses whose cause is known (the body is never quoted)."""


def _root_cause(exc: BaseException) -> BaseException:
    seen = {id(exc)}
    while exc.__cause__ is not None and id(exc.__cause__) not in seen:
        exc = exc.__cause__
        seen.add(id(exc))
    return exc


def describe_model_failure(
    exc: BaseException, *, base_url: str | None, attempts: int, timeout: float
) -> str:
    """A failed model call in one line: unreachable and timed-out servers name the URL and the
    attempts made, HTTP errors their status (never the body); in-process failures their type.

    Example:
        >>> describe_model_failure(RuntimeError("out of memory"), base_url=None, attempts=1,
        ...                        timeout=300)
        'the model failed (RuntimeError): out of memory'
    """
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    base_url = display_url(base_url) if base_url else base_url
    if base_url and isinstance(exc, openai.APITimeoutError):
        return (
            f"the model server at {base_url} did not answer within {timeout:g} s ({tries}; "
            "raise --timeout to wait longer)"
        )
    if base_url and isinstance(exc, openai.APIConnectionError):
        reason = str(_root_cause(exc)) or type(_root_cause(exc)).__name__
        return (
            f"cannot reach the model server at {base_url} ({reason}; {tries}): is it running? "
            "Check --base-url"
        )
    if base_url and isinstance(exc, openai.APIStatusError):
        fix = _STATUS_FIXES.get(exc.status_code, "check --model, --api-key and the server's log")
        return (
            f"the model server at {base_url} answered HTTP {exc.status_code} "
            f"({type(exc).__name__}; {tries}): {fix}"
        )
    first_line = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"the model failed ({type(exc).__name__}): {first_line}"
