"""One embedded worker per data directory.

Two would both recover the same instances (they share the executor id) and run
them twice, so the second one is refused before it touches the data.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO

LOCK_FILE = "worker.lock"


class DataDirLock:
    """An exclusive lock on a data directory, held for the life of the process."""

    class Busy(Exception):
        """Another process holds the lock."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file

    @classmethod
    def acquire(cls, data_dir: Path) -> DataDirLock:
        data_dir.mkdir(parents=True, exist_ok=True)
        file = open(data_dir / LOCK_FILE, "a")  # held until release()
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise cls.Busy(
                f"another orchestration process is using {data_dir}: stop it first, or give this one its own "
                "--data-dir (several workers on one database need PostgreSQL)"
            ) from None
        return cls(file)

    def release(self) -> None:
        self._file.close()
