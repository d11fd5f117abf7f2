"""A verdict cache: in memory, optionally backed by a SQLite file that survives restarts.

Only decided verdicts are stored (never a failure), keyed by the judge model and the exact
(question, ground truth, prediction), so a restarted evaluation or training run does not pay
for a verdict twice.

Example:
    >>> cache = JudgeCache()
    >>> key = cache.key("gpt-4o", "Q", "A", "a")
    >>> cache.put(key, 1, "Score: 1")
    >>> cache.get(key)
    (1, 'Score: 1')
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path

__all__ = ["JudgeCache"]


class JudgeCache:
    """Verdicts by key, in memory and (when ``path`` is given) in a SQLite file.

    Args:
        path: SQLite file to read on start and append to; None keeps the cache in memory.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "verdicts.sqlite"
        >>> JudgeCache(path).put("k", 0, "Score: 0")
        >>> JudgeCache(path).get("k")  # a new process would see it too
        (0, 'Score: 0')
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._memory: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS verdicts "
                "(key TEXT PRIMARY KEY, score INTEGER NOT NULL, raw TEXT NOT NULL)"
            )
            self._db.commit()
            rows = self._db.execute("SELECT key, score, raw FROM verdicts")
            self._memory.update({key: (int(score), raw) for key, score, raw in rows})

    @staticmethod
    def key(model: str, question: str, ground_truth: str, prediction: str) -> str:
        """A stable key for one judgement (SHA-256 of its parts).

        Example:
            >>> JudgeCache.key("m", "q", "a", "b") == JudgeCache.key("m", "q", "a", "b")
            True
        """
        digest = hashlib.sha256()
        for part in (model, question, ground_truth, prediction):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        return digest.hexdigest()

    def get(self, key: str) -> tuple[int, str] | None:
        """The stored ``(score, raw reply)``, or None.

        Example:
            >>> JudgeCache().get("missing") is None
            True
        """
        return self._memory.get(key)

    def put(self, key: str, score: int, raw: str) -> None:
        """Store a decided verdict (written through to SQLite when file-backed).

        Example:
            >>> cache = JudgeCache()
            >>> cache.put("k", 1, "Score: 1"); len(cache)
            1
        """
        with self._lock:
            self._memory[key] = (score, raw)
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO verdicts (key, score, raw) VALUES (?, ?, ?)",
                    (key, score, raw),
                )
                self._db.commit()

    def __len__(self) -> int:
        return len(self._memory)

    def close(self) -> None:
        """Close the SQLite file (the in-memory verdicts stay readable).

        Example:
            >>> JudgeCache().close()
        """
        if self._db is not None:
            self._db.close()
            self._db = None
