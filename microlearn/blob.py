"""The model file ("blob"), version 2: a container of sections (docs/blob_format.md).

Generic: each pipeline step is one section written by its family
(:attr:`microlearn.family.Family.section`); this module writes and reads the container
(header, section table, CRC-32) and knows no family. Read in place by the C runtime
(``ml_blob.h`` + ``ml_model.h``), by the MicroPython modules and by the pure-Python
fallback.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

MAGIC = b"MLRN"
VERSION = 2
HEADER_BYTES = 16
ENTRY_BYTES = 16
MAX_SECTIONS = 16
TASK_IDS = {"classifier": 0, "regressor": 1, "outlier_detector": 2, "transformer": 3}


@dataclass(frozen=True)
class Section:
    """One step of a model file."""

    family_id: int
    task: str
    n_features: int
    payload: bytes


def write(sections: Sequence[Section]) -> bytes:
    """The model file holding ``sections`` (in pipeline order)."""
    if not 1 <= len(sections) <= MAX_SECTIONS:
        raise ValueError(f"a model file holds 1 to {MAX_SECTIONS} sections, got {len(sections)}")
    body = bytearray(HEADER_BYTES + ENTRY_BYTES * len(sections))
    for i, s in enumerate(sections):
        body.extend(b"\0" * (-len(body) % 8))
        offset = len(body)
        body.extend(s.payload)
        struct.pack_into("<HBBIII", body, HEADER_BYTES + ENTRY_BYTES * i, s.family_id,
                         TASK_IDS[s.task], 0, offset, len(s.payload), s.n_features)
    body.extend(b"\0" * (-len(body) % 8))
    crc = zlib.crc32(bytes(body[HEADER_BYTES:])) & 0xFFFFFFFF
    struct.pack_into("<4sHHII", body, 0, MAGIC, VERSION, len(sections), len(body), crc)
    return bytes(body)


def read(blob: bytes) -> list[dict]:
    """Check a model file's container (magic, version, size, checksum, section table) and
    return its sections as dicts (``family_id``, ``task``, ``offset``, ``size``,
    ``n_features``, ``header``). Version-1 files (a tree ensemble, microlearn 0.1) read
    as one trees section whose header is at byte 16.

    Raises ``ValueError`` naming what is wrong.
    """
    blob = bytes(blob)
    if len(blob) < HEADER_BYTES:
        raise ValueError(f"model file too short ({len(blob)} bytes)")
    magic, version, n_sections, total, crc = struct.unpack_from("<4sHHII", blob, 0)
    if magic != MAGIC:
        raise ValueError(f"not a microlearn model file (magic {magic!r}, expected {MAGIC!r})")
    if version not in (1, 2):
        raise ValueError(f"model file format version {version} is not supported (this "
                         f"microlearn reads versions 1 and 2)")
    if total > len(blob) or total < HEADER_BYTES:
        raise ValueError(f"model file truncated: header says {total} bytes, have {len(blob)}")
    if zlib.crc32(blob[HEADER_BYTES:total]) & 0xFFFFFFFF != crc:
        raise ValueError("model file checksum mismatch (corrupt file)")
    tasks = {v: k for k, v in TASK_IDS.items()}
    if version == 1:
        if n_sections != 1 or total < HEADER_BYTES + 8:
            raise ValueError("version-1 model file of an unknown family")
        kind, n_features = struct.unpack_from("<II", blob, HEADER_BYTES)
        return [dict(family_id=1, task="classifier" if kind == 0 else "regressor",
                     offset=0, size=total, n_features=n_features, header=HEADER_BYTES)]
    if not 1 <= n_sections <= MAX_SECTIONS or HEADER_BYTES + ENTRY_BYTES * n_sections > total:
        raise ValueError(f"model file has an invalid section count ({n_sections})")
    out = []
    lo = HEADER_BYTES + ENTRY_BYTES * n_sections
    for i in range(n_sections):
        fam, task, flags, offset, size, n_features = struct.unpack_from(
            "<HBBIII", blob, HEADER_BYTES + ENTRY_BYTES * i)
        if (flags or task not in tasks or offset % 8 or offset < lo or size == 0
                or offset + size > total or n_features == 0):
            raise ValueError(f"model file section {i} is invalid (corrupt file)")
        out.append(dict(family_id=fam, task=tasks[task], offset=offset, size=size,
                        n_features=n_features, header=0))
        lo = offset + size
    return out
