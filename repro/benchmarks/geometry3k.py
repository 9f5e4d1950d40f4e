"""Geometry3K, the visual run's training set (paper §3.3): the hub dataset hiyouga/geometry3k
(train 2,101 / validation 300 / test 601; the one EasyR1's geo3k example and VeRL's
examples/data_preprocess/geo3k.py read), one parquet file per split.

    load_geometry3k(split, download=...) -> (problems, sha256, origin)

Rows have `images` (a list of {"bytes", "path"}: one figure per problem), `problem` (the
question, which already starts with the "<image>" placeholder VeRL's dataset expands) and
`answer`. Problem.meta keeps the image bytes' sha256 and the bytes themselves under
"image_bytes" (training data only: the rows are written straight back to parquet).

Pinning: no sha256 of these files is published, so like MathVista's image archive
(repro.benchmarks.visual_files) the first copy seen is hashed and recorded, and any later copy
that differs is refused. The hub commit to download from is GEOMETRY3K_REVISION when the
package knows it, else the full commit id the user names in $REPRO_GEOMETRY3K_REVISION (read
from the dataset's history, "Files and versions"); the package was built where the hub is out of
reach, so the constant is still empty. Without either, downloads are refused (a branch name
moves) and a copy must be put under $REPRO_DATA_DIR/visual/geometry3k/. The record of the first
download names the commit it came from.

Reading parquet needs pyarrow (the training environment has it); imported lazily.
"""

from __future__ import annotations

import hashlib

import os
import re

from repro.benchmarks.fetch import DataMissingError
from repro.benchmarks.visual_files import RecordedHubFile, resolve_recorded
from repro.errors import ReproError
from repro.problems import Problem

GEOMETRY3K_REPO = "hiyouga/geometry3k"
# The hub commit the files are read at. Unknown here: set it (a full commit id) from the
# dataset's history before allowing downloads.
GEOMETRY3K_REVISION: str | None = None
REVISION_ENV = "REPRO_GEOMETRY3K_REVISION"
SPLIT_SIZES = {"train": 2101, "validation": 300, "test": 601}


def geometry3k_revision() -> str | None:
    """The hub commit to read at: the package's pin, else the one $REPRO_GEOMETRY3K_REVISION names
    (a full 40-character commit id: a branch or tag could move under the recorded sha256)."""
    if GEOMETRY3K_REVISION is not None:
        return GEOMETRY3K_REVISION
    named = os.environ.get(REVISION_ENV, "").strip()
    if not named:
        return None
    if not re.fullmatch(r"[0-9a-f]{40}", named):
        raise ReproError(f"${REVISION_ENV}={named!r} is not a full commit id (40 hex digits): take it from "
                         f"{GEOMETRY3K_REPO}'s history on the hub, not a branch or tag name")
    return named


def geometry3k_file(split: str) -> RecordedHubFile:
    if split not in SPLIT_SIZES:
        raise ReproError(f"Geometry3K has no split {split!r}; known: {', '.join(SPLIT_SIZES)}")
    return RecordedHubFile(f"visual/geometry3k/{split}.parquet", GEOMETRY3K_REPO,
                           geometry3k_revision() or "unpinned", f"data/{split}-00000-of-00001.parquet")


def load_geometry3k(split: str, *, download: bool = False, check_size: bool = True
                    ) -> tuple[list[Problem], str, str]:
    """(problems, sha256 of the file, origin) of one split, in file order."""
    import pyarrow.parquet as pq

    source = geometry3k_file(split)
    pinned = geometry3k_revision() is not None
    if not pinned and download:
        download = False  # never download from a moving branch
    try:
        path, sha256, origin = resolve_recorded(source, download=download)
    except DataMissingError as error:
        if not pinned:
            raise DataMissingError(f"{error} (no hub commit is pinned for Geometry3K: set ${REVISION_ENV} to a "
                                   "full commit id of the dataset to allow the download, or put a copy there)"
                                   ) from None
        raise
    rows = pq.read_table(path).to_pylist()
    if check_size and len(rows) != SPLIT_SIZES[split]:
        raise ReproError(f"{path} has {len(rows)} rows; Geometry3K {split} has {SPLIT_SIZES[split]}")
    return [_problem(row, position, split) for position, row in enumerate(rows)], sha256, origin


def _problem(row: dict, position: int, split: str) -> Problem:
    images = row.get("images") or []
    if len(images) != 1 or not isinstance(images[0], dict) or not images[0].get("bytes"):
        raise ReproError(f"Geometry3K {split} row {position} does not have exactly one image with bytes")
    data = images[0]["bytes"]
    question = str(row["problem"])
    if question.count("<image>") != 1:
        raise ReproError(f"Geometry3K {split} row {position}: the question must hold one <image> placeholder")
    return Problem(problem_id=f"geometry3k-{split}/{position:04d}", index=position, question=question,
                   answer=str(row["answer"]),
                   meta={"image_sha256": hashlib.sha256(data).hexdigest(), "image_bytes": data})
