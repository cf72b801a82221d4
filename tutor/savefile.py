"""Write a file whole or not at all: a temporary file in the same folder, flushed to disk, then renamed
over the old one (a rename within one folder is atomic). A crash or a kill mid-write leaves the old file.

    write_atomic(path, "text")    # or bytes

Standard library only. The request history, saved requests, SQL drafts and the settings file use it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
