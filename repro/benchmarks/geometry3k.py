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
that differs is refused. GEOMETRY3K_REVISION is the hub commit to download from; it is not
yet read from the hub (these machines cannot reach it), so until it is set downloads are
refused and a copy must be put under $REPRO_DATA_DIR/visual/geometry3k/.

Reading parquet needs pyarrow (the training environment has it); imported lazily.
"""

from __future__ import annotations

import hashlib

from repro.benchmarks.fetch import DataMissingError
from repro.benchmarks.visual_files import RecordedHubFile, resolve_recorded
from repro.errors import ReproError
from repro.problems import Problem

GEOMETRY3K_REPO = "hiyouga/geometry3k"
# The hub commit the files are read at. Unknown here: set it (a full commit id) from the
# dataset's history before allowing downloads.
GEOMETRY3K_REVISION: str | None = None
SPLIT_SIZES = {"train": 2101, "validation": 300, "test": 601}


def geometry3k_file(split: str) -> RecordedHubFile:
    if split not in SPLIT_SIZES:
        raise ReproError(f"Geometry3K has no split {split!r}; known: {', '.join(SPLIT_SIZES)}")
    return RecordedHubFile(f"visual/geometry3k/{split}.parquet", GEOMETRY3K_REPO,
                           GEOMETRY3K_REVISION or "unpinned", f"data/{split}-00000-of-00001.parquet")


def load_geometry3k(split: str, *, download: bool = False, check_size: bool = True
                    ) -> tuple[list[Problem], str, str]:
    """(problems, sha256 of the file, origin) of one split, in file order."""
    import pyarrow.parquet as pq

    source = geometry3k_file(split)
    if GEOMETRY3K_REVISION is None and download:
        download = False  # never download from a moving branch
    try:
        path, sha256, origin = resolve_recorded(source, download=download)
    except DataMissingError as error:
        if GEOMETRY3K_REVISION is None:
            raise DataMissingError(f"{error} (GEOMETRY3K_REVISION is not pinned yet, so only a local copy is "
                                   "accepted)") from None
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
