"""URLs as messages show them: without the user-info (``user:password@``) a URL may carry.

Every error, warning or progress line that names a URL passes it through :func:`display_url`,
so a secret put in a URL (``http://user:pass@host/``) is never repeated back: not to the user
who typed it (a terminal log or a CI transcript keeps it), and not to a remote client of a
served graph.

Example:
    >>> display_url("http://user:pass@127.0.0.1:8000/v1")
    'http://127.0.0.1:8000/v1'
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["display_url"]

_AUTHORITY = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<authority>[^/?#]*)")


def display_url(url: str) -> str:
    """``url`` without its user-info; anything else unchanged (a path or non-URL text too).

    Example:
        >>> display_url("https://token@example.com/a.png?x=1")
        'https://example.com/a.png?x=1'
        >>> display_url("http://[::1]:9/v1"), display_url("photo.jpg")
        ('http://[::1]:9/v1', 'photo.jpg')
        >>> display_url("http://a:b@[::1")  # malformed: everything up to '@' is dropped
        'http://[::1'
    """
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
        if not parts.netloc or "@" not in parts.netloc:
            return url
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    except ValueError:  # e.g. an unclosed IPv6 bracket: cut the authority by hand
        match = _AUTHORITY.match(url)
        if match is None or "@" not in match["authority"]:
            return url
        return match["scheme"] + match["authority"].rpartition("@")[2] + url[match.end() :]
