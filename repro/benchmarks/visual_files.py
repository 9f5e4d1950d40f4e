"""The visual benchmarks (MathVista testmini free-form, MathVision testmini without options):
pinned files, the rows the paper keeps, and each problem's image stored as a checked file.

    load_visual_benchmark(key, download=..., images_dir=...) -> (problems, checksum, origin, selection)
    load_visual_standin(key, count, folder, images_dir)      -> (problems, checksum, selection)
    write_visual_standins(key, folder, count)                -> path of the stand-in row file
    verify_image(problem)                                    -> the image's path, re-checked

`selection` = {"source_rows": N, "kept": K, "rule": "..."}: the paper only says that
"multiple-choice questions are removed", so the rule and both counts are recorded with every
run (docs/benchmarks.md, "Visual benchmarks").

Sources (docs/benchmarks.md has the table and the reasons):
- MathVista testmini: the annotation file `data/testmini.json` of the official GitHub
  repository lupantech/MathVista at MATHVISTA_COMMIT (sha256 pinned: computed here from the
  repository and equal to the one the shared notes record), and the images from `images.zip`
  of the Hugging Face dataset AI4Math/MathVista at hub commit MATHVISTA_HUB_REVISION (a
  revision several third-party harnesses pin). The official README points at this zip
  ("We provide images in the JPG format"). No sha256 of images.zip is published anywhere we
  could read, so it is RECORDED AT FIRST USE (`recorded_sha256`): the first copy found or
  downloaded is hashed, the hash is written beside the cache, and any later copy that differs
  is refused. Each kept image's own sha256 goes into the benchmark checksum, so two runs on
  different image bytes can never share a checksum. The hub's parquet files (which also hold
  the images, as `decoded_image`) are not used: no parquet reader is installed.
- MathVision testmini: the official GitHub repository mathllm/MATH-V (the source of the HF
  dataset MathLLMs/MathVision) at MATHVISION_COMMIT: `data/testmini.jsonl` and one JPEG per
  row under `images/`. The sha256 of the JSONL and of each of the 114 images the filter keeps
  are PINNED below (computed here from the repository at that commit; the files have not
  changed since its first commit, 1d36118, 2024-03-22).

Rules (each counted over the pinned files when this was written):
- MathVista: keep `question_type == "free_form"`: 460 of 1000 rows (418 integer, 40 float,
  2 list answers; the 540 dropped rows are all multi_choice with answer_type "text").
- MathVision: keep rows whose `options` is `[]`: 114 of 304 (answers are integers, two
  decimals, a coordinate pair "(3,-4)" and one letter "C", id 59, whose choices are drawn
  inside the image).

The question: Problem.question is the row's `question` field, verbatim. The paper's prompt
(Fig. 26) wraps "the question" after the image, and EasyR1's system prompt already asks for
<think> and \\boxed{}. MathVista's HF rows also carry a `query` (the question prefixed by a
"Hint: ... provide the final value, e.g., 1, 2, 3, at the end." line and, for multiple
choice, the options), which is MathVista's prompt for its own answer-extraction pipeline: not
used (it is not in testmini.json either; it lives in data/query.json). MathVision questions
keep their `<image1>` placeholders as text: the row has one composite image, given once.

Images are written to images_dir/<key>/<id>.<format> (the format from the bytes: HF images
are a mix of jpg/png/webp behind a .jpg name), and Problem.meta records "image_path" and
"image_sha256"; `verify_image` refuses a file that changed since.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from repro.benchmarks import fetch
from repro.benchmarks.base import Benchmark, LoadedData
from repro.benchmarks.fetch import (
    DATA_DIR_ENV,
    ChecksumMismatchError,
    DataMissingError,
    PinnedFile,
    PinnedHubFile,
    cache_dir,
    data_dir,
    local_copy,
    offline,
    resolve,
    sha256_of,
)
from repro.errors import ReproError
from repro.files import atomic_write, write_if_changed
from repro.problems import Problem

__all__ = ["MATHVISION_COMMIT", "MATHVISION_ROWS", "MATHVISTA_ANNOTATIONS", "MATHVISTA_COMMIT",
           "MATHVISTA_HUB_REVISION", "MATHVISTA_IMAGES", "ChecksumMismatchError",
           "DataMissingError", "RecordedHubFile", "VisualRow", "load_visual_benchmark", "load_visual_standin",
           "mathvision_image", "parse_mathvision", "parse_mathvista", "prefetch", "recorded_sha256",
           "verify_image", "visual_checksum", "write_visual_standins"]

RULES = {"mathvista-free": "question_type == 'free_form'", "mathvision-open": "options == []"}
# (source rows, kept rows) of the pinned files: a parser change that alters them is a bug.
EXPECTED_COUNTS = {"mathvista-free": (1000, 460), "mathvision-open": (304, 114)}
MATHVISTA_ANSWER_TYPES = ("integer", "float", "text", "list")
MAX_IMAGE_BYTES = 64 << 20  # the largest MathVision image is about 1 MB; refuse absurd members

# ------------------------------------------------------------------ pinned sources

# lupantech/MathVista: the newest commit read (2025-09-28); data/testmini.json last
# changed in 452b0f83 (2023-10-17) and has 871,725 bytes.
MATHVISTA_COMMIT = "53d525874bdde205128e6b160b7357a88277d479"
MATHVISTA_ANNOTATIONS = PinnedFile(
    "visual/mathvista/testmini.json", "lupantech/MathVista", MATHVISTA_COMMIT, "data/testmini.json",
    "ab0148dca9d401c31cc47f29b3826eec28a76ff155a1c0878d81e8daf0413480")

# AI4Math/MathVista on the hub: the revision third-party harnesses pin (one records the
# testmini parquet's sha256 at it, 373f6c0b...; another's hub cache holds images.zip at it).
MATHVISTA_HUB_REVISION = "2b6ad69445fbb5695c9b165475e8decdbeb97747"
# Set this to the archive's sha256 once it is known from a trusted copy: from then on the
# archive is pinned like every other file and nothing is recorded at first use.
MATHVISTA_IMAGES_SHA256: str | None = None

# mathllm/MATH-V (official MATH-Vision repository): the newest commit read (2025-05-16).
MATHVISION_COMMIT = "a1f5cc3add200c0cd080fad463e500f44ef1fb41"
MATHVISION_REPO = "mathllm/MATH-V"
MATHVISION_ROWS = PinnedFile(
    "visual/mathvision/testmini.jsonl", MATHVISION_REPO, MATHVISION_COMMIT, "data/testmini.jsonl",
    "449e238b768f702e2659543495f2c87ee1f41a9e9c013d174daf12029756227a")
# sha256 of images/<id>.jpg at MATHVISION_COMMIT for the 114 testmini rows without options
# (id, sha256), in file order. 2,594,505 bytes in all.
_MATHVISION_IMAGE_SHA256_TABLE = """
4 8b329f8152c39f39e491c3bd806a6b293b5b009f90bc3a9465536dd0dbd389d0
5 9588b3bd36d9e7db901bacec3767c9282236052b416885efa7a1a13738df886b
7 0264c0aa9b237acc103492599053a7dce3f8b6bd1defd14cc91ee1eb359f879a
8 cc639aff8acd89d54e4bbc32c01cea0728508f472e184389e6e82bcc975af588
10 4f328b34e45e690a92a314d8ada25808673b9e9d4be7578476b97b44c6a3a5e4
11 75b0a96ffb8875d29e263d3619f2f28f5283db45052d7e1b97ace3efc8bf1b79
16 3c7613e10444169acd5f99900a0570908d1567812a98a3c3863e1e8a9eab63a5
20 eebf6499395463b27a45be1f33dd57a542df4a2c4f6965910dc427b60bdbc1bf
23 2a084754033cfbd9ad691fe7448c3642032521a44a10ceda1610162fa9023c4a
28 d85c6a5f9a7c7c741b6af2e9c66ea86858485dd36aed7321f133af821e1a339b
29 fec93cdfd8ea522848623d5aa661cf2b535f90daa174eca2aab34557a5564166
32 ad19e782b26f5b9c28f3700153fb905f84c0694f0c1b98519a348160614a276d
35 6db8720e5ee82e1be9ed098b63a4c26347199991f129e4107d7dc5a542dbd2fb
38 170c25103ae9ebfe7e5cd8eeddf4d2da0a44008013e8bdf9413bdc652da7c247
41 998bbc1938217cc538262c1fafd37175702710bea2b77fa36eca7999d155b7ca
43 b365f7f0efe0aa419465ae5ce7279f4679be58b536367f8993517fddec72e8e5
49 5603d16b832fd2361967969f5f484528b726113d4ba566d422f7abcf30875794
59 9d38f0ab352002844f0f2a13ec7f0f0a6913012f82469e842d23a1297041dc1f
61 d192f351ca3ee4ac7cc91add6dcaa3a4743a312e879e4bda9fafa972ccc228b1
62 06759c8192c5bcf60b00c2af933d3ef0d04ed9399e26575964fe529a3db3d477
64 8feab8e914238cc05eb205a517b4c21a83fd0c487d2f5a023974629bcf3ee250
89 40ff82667d07add70c1a301f3284c2fbfc2579d0978c93b3be8729a061150446
92 628a67e2abfe1e19dec93680755a4026e138d5d8d464bcf69e7d943bc62dec20
104 892e0efe256f1d782b68ebe7a880a989709fa07ab80bd4e0e4d8d01984f9872c
114 878680db3f611aa20ac17b5a53aaf50b5f7343f8e932b0277b02d170f03366ef
115 60f001b787a80b3714f4994bd338c3c71a472060199a67ba1d75cb3548bd1e2e
118 352c98b8cb89a96395628ce2ca38a3263f89299dc2d8427ad5ad73836e77e1ce
120 efd8a50f15156201b809e5e91d959bb168118b5f17bda5f7d6c6a79a0e67c553
124 6f907fb1106ccfaa888afc4ba4685ae6dc8694bd26174692807ec8568e8090b1
126 7183434c25e2ec94f480c54a71e595891c0afff82729a5585f708c0269358d9a
149 eaca92cfcfed62886171b7341ee13003c877dfcd4ee2885e3c65f23c019bd135
159 141bbcde711dd9e6fdbdd84c3fee3955bd99b9de41860e6d9b4c2af5b4f9edb2
167 a18129d19ecc98f3009f3e4bf45ba202415ac5ad57744486fb2aca812f7a176d
168 c67797211900107786014e352301d1182279520b430cadc8b887027489113938
176 33ec1da9144705ad4769e86961aa8704de80e9b509812f134126815fd3eaec22
181 e019f1af9dcd9099db9ed9a344b6165e1184d7a8c2ba2f5a8fcc9d342bbeb3f4
190 71b3d955a42a8fcbff3bbaf076e172d0c8623b1541a9cd8e5cf9ae14763fa117
193 12739f591ab1f6139716c809418a8434fe157a6ccbfdde6031b3da1949612b51
195 bcffeb87e7ce412d0ccd734a7482d9f5a71b15cf88521b902516da2a34d0fc9a
203 a00f70f25f8a8afc671267a816b74585f4e7bb8849788fcf748fa2c36a7907fd
210 7c33109135aff547141c269aa676a42ae5268e3c424a32cfbe9641d3f556d0e1
211 bd863fada5555309d73a9557a779620cb9cb766b589c7a00959514be59f95aaf
214 fdadd46fdb4a52f940f6eaa071e1041872ca46cc747c647e1a39f1d151b13d8a
216 ef4484bc71de4a62ba33e656eaed61a2fa4900d8e04202b99ecc2fe6da81d3d4
219 81e2ad9fc01e8239c9154aac70f8d348520267456bb9b7ad61afc7665d93de02
234 c82cf6800335c4da392bdb6f5e8a5dceeee81fa150da21fd5e20c9f92b8a6cd7
246 db2c2f6d9dd300eae615e3436bf945bef782d41989c24deab568fd971171088e
250 296ec5776c3b57e76b6f97434ab877abaa3621fa8e68596337fd254c3dba1cdb
255 847738a33c12aaca40b66c1cd0000fa848665f6c0cfdb4c5c87d49c94831c0fd
263 35dbb927aa526c3e4f7746237787a2470fb09744c5aa1c128d41836a417b1d6a
272 31aa225953cf90cd5694ce8ff450caa4d76e8dbb5476165baf16c805487e283d
284 a5b1f922dfaba2b1b5c5d9bc8ff7d09a9a2ff4b29d790233b4bb72af43a827fd
291 3baff63c483a742a558789dd1b9b84aeb590b50d7e9a0c65fa0b8227f038de4e
295 7cb2c6a93a9ddb4faa4c5f7f677ce7d32897af33a5b6805b636d3f17e32beb8e
300 3d6e27e750e88bcc2f5b434e1f3d790288f05025e4d76c10dd3baed5d6be4b41
307 195f5fce3272ee7d8d510e4d67c24819b624590eda2c41552d3fa6e18208ba51
318 6b92ea639318bf0437f1c20886ebbca41f3254e4abb7d3f4e684d68d734f6b34
364 2d2fe3dd9d537d23bf2799d7d05b4fd9e538b3c9a1ac157b6d214ad8d30e856d
386 6a9510fd00d0638b55398b47709d7f678c61ed1a6d28a4f12e8bc5874c630d8b
415 a4bc9f8bc2b76cdbbae1500836429bd72df6c4c4b9313e20531b80de0666b719
417 bd4460f16a519482025c920269491f9db460d99e9fdaaa271117919ce50026e2
418 c812cbe1c34b64ec1fcef24b54d626adcbe79d14c6c912d7300ac42d58c6519b
423 7ebcbe3f33b2522e2e7986e3dbc23e36009c28dbffddb9b515df7601df6fa359
427 7c5d85e244c07ee806e08581ecca34f3098f7cc3f6c712fc1382d25a0dd057ac
437 9feb360fb9dd036306632fdc32f4c66bb4a284e781df87859fd9c4a2158892e6
442 af50dd8b5a80cecfdc1bec17c5e07be30ee3f25546bd33170d945c9432298f83
455 82ca790bbb8c6d5ead285384afb51ce51d79c47a1dbd07265d1889af50e149d8
463 f4204e3dc5efd3add910dc78f6d9d3e96629c63b231668b17cb6fc6a52a873ea
472 1cd2b951826c69daab2d9d332dfd472ef097c0431a7eb3b88ecae432d270ccec
474 9b7fa7675a9c548d009de8f18d6f7138b6ba03e1371ce9ddb3085cd8882e830b
522 058e71b41cca7784bab4ecadf8b1ee293603c29c61be0fbdf32ef2bea7ec5ebf
525 c0900e9926f96966001a9696ec69b5eead8bc03ee6e275dcda9fbe7f9b255ceb
526 110473ebfb6ea0060996831fc90c4edbe8a24a29e31005a7275c585bfa90a843
534 8c08b329122171dc2e28ab13078d462d53208608d42c847691ed5dda14cbf622
545 9a8ad4591095bdc3a20708f7d3601473a2983dd0d9ee3246d821665a9f27effb
556 6a162cbe67740bfbfbb3293eb6598327a1482ef861e9aa750b83eb5e18325731
608 c24c72233f6aa16d2d3b63e4ba80fb7410ddbaf5f8c09b4f9cfbfbd9b637cb16
628 21350f6f5c76e28f4fbec51dd79fd374e748d68616856b7ff9b932eeb4361426
641 a5c03ea70f23f16e163d10cce759d16e34123de77bca4607f44a31f0a8008d1c
701 45b4ad5c306453fc02f740103aa3c207550f3265f1cb5015c6124f90a1e45b9c
706 c2272d3b8b72d922710bafe7a8af39b3c27831d22dca5b6a8afdb28cccc49528
764 3366e0ea92c414eeed0fbe5ba9416df90ab5779eca1384fde3ef58ec9902f5f9
811 1a97e692c34d67fc04b99714c97c3542f92b36138565d5529bad15ae11c2acf9
812 c8adb67cfe561d7ea54ed35be06f82abba42159aa05cd465d3f6d3692a0a6192
819 52f8da79b34c68c9164f1e3cebc078d08f9f8dea3dabad056f8d174ae9680bae
850 53dcc9be8a537f51e6b4ddb9fa50c247b6e442e96c32edec8464d28bdd2bdc82
913 02860e96603abf63bac6beb5c503c72876d5c8ef4c3a604da64d02d274e7e4f1
1039 dbcaff90ae1e8a823655e2e31640698b22de8725995e691eee857c1ff8238d5b
1060 d13251dfa2f489aa1748009569967159a43c4ad1a0b7ef96ad78e52df28c09e8
1246 df53f367c93bb3100b542c3af83e14dbf99e94e915c10cfd194946e5dc2bea32
1250 061a5c13f8a6b35ab46b1d2ce7cf5a4d9cafaf22eebb91390ed9039e1de94e61
1301 438cd01d918bcb0eace428ae7f1bc5c077b5d3274ae0bd0576893e1d30ce1fdc
1335 b213bca4279f481db98280f87b4bbaa85a000759107362eb7c858a274caf9275
1399 57b89359b52f5842db970bb6aa48c75e3361df62fb408fc0ddf665978b309940
1414 3ae4d01c94030bace2e749ccc9b842362728e15a01067478a815ec1728769c60
1668 ef97804687f807be57d9c398f26e3b6992045d20eac9d463edb93ba5108e6b08
1709 55c95144f8627afc853ede473a2b615c534a41294a2184917e3994747439170b
1781 34165c845c4726885c772c2476d88bf78f86786689f1909b23cf21ada343dd06
1813 c242d5a4d958b2ba1941788a209ea111f8464e6dbd9080b0501c51249594f7ef
1814 ffe42952617ecde9e14021d0c75c689e997b6a7fa34eea942901d03c608c0edc
1864 cb4ad47e4427a6ffd6a9cc742ca2fdb08846eafbc8c1489f7db4f8bb91e220a7
1915 f9e7f3ddff041e7639102821cebc2ea6ae9f718fc5f2e5154317e4e367093a97
2398 29230062bc14d4928d67675d2b2d97ac05604e7c6cb35d09a3a739bd1bc6ac01
2443 93318791a43137be84158bf48fb49fb3767b7460d03a2097a3e281b4d49f624f
2513 405bfab4be243808bdf44d44af5fa2a9cc69e523c03f13e4f6c47d6592c0fb5b
2555 318a3a601cb30171eae14ff6b92afa594a5d107a3410af260ab5599b0c92460a
2634 06f46e96056184eca8a1a2cb1c7f5dcca8f9c7bbb387e1808bf1a4beb775ed8a
2648 0c1175a1bc2d73c222c26e72c319fdb912aa3a68936256f2f30ed4f9aba6c4e8
2688 5cda20939c3c0504fa9c89f1d35e68616b8a2ff0598da9a82c87b3291a843427
2741 a58058267570f5fbb7ce6520bf108f2047bc5ebc8732f342d9443cfe4949b03e
2786 4b39bcadf868f56803376dd311b7a6725f8ea12f30cd25c42bceec3f3e1bae8f
2955 b51e0212f622a2fc5d3e9327c84703d17a45cb74c64b693e2c458936b3b5b61e
2984 297e7260cdeb4a072ab4264a17957581c5111abf6eb5af02b6bbdb7e12ab9a85
3033 f3f473de8044ae3e7fa97276018acac9e289cef8a56aa81cbafe86555dbf690e
"""
MATHVISION_IMAGE_SHA256: dict[str, str] = dict(
    line.split() for line in _MATHVISION_IMAGE_SHA256_TABLE.strip().splitlines())


def mathvision_image(image: str) -> PinnedFile:
    """The pinned file behind a MathVision row's `image` field ("images/4.jpg")."""
    match = re.fullmatch(r"images/([0-9]+)\.jpg", image)
    if match is None or match.group(1) not in MATHVISION_IMAGE_SHA256:
        raise ReproError(f"MathVision image {image!r} is not one of the {len(MATHVISION_IMAGE_SHA256)} "
                         f"pinned images of the rows without options")
    return PinnedFile(f"visual/mathvision/{image}", MATHVISION_REPO, MATHVISION_COMMIT, image,
                      MATHVISION_IMAGE_SHA256[match.group(1)])


@dataclass(frozen=True)
class RecordedHubFile:
    """A hub dataset file at a pinned revision whose sha256 is not published: it is recorded
    at first use (see `resolve_recorded`). Same `relative_path` layout as the pinned files."""

    relative_path: str
    repo: str
    revision: str
    path: str
    on_hub = True  # downloaded through huggingface_hub (fetch.download_source)

    @property
    def url(self) -> str:
        return fetch.hub_dataset_file_urls(self.repo, self.revision, self.path)[0]

    @property
    def pinned_url(self) -> str:
        return fetch.hub_dataset_file_urls(self.repo, self.revision, self.path)[1]


MATHVISTA_IMAGES = RecordedHubFile("visual/mathvista/images.zip", "AI4Math/MathVista", MATHVISTA_HUB_REVISION,
                                   "images.zip")


# ------------------------------------------------------------------ sha256 recorded at first use


def _record_path(source: RecordedHubFile) -> Path:
    # Always in the cache: a data folder may be read-only (the container bakes one).
    return cache_dir() / f"{source.relative_path}.sha256.json"


def recorded_sha256(source: RecordedHubFile) -> str | None:
    """The sha256 recorded for this file at its first use here, None before."""
    path = _record_path(source)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        digest = record["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ReproError(f"{path} is not a sha256 record ({error}); remove it to record the file again") from None
    if record.get("url") != source.pinned_url or not re.fullmatch(r"[0-9a-f]{64}", str(digest)):
        raise ReproError(f"{path} records another file or a malformed sha256; remove it to record the file again")
    return digest


def _write_record(source: RecordedHubFile, digest: str, found_in: str) -> None:
    record = {"url": source.pinned_url, "sha256": digest, "first_seen_in": found_in,
              "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "why": "no sha256 of this file is published; later copies must match this one"}
    atomic_write(_record_path(source), (json.dumps(record, indent=1) + "\n").encode("utf-8"))


def resolve_recorded(source: RecordedHubFile, *, download: bool,
                     known_sha256: str | None = None) -> tuple[Path, str, str]:
    """(path, sha256, origin) of a file whose sha256 is recorded at first use.

    With `known_sha256` the file is simply pinned (`fetch.resolve`). Otherwise: a copy in the
    data folder or the cache is hashed and compared with the record (refused if it differs),
    or becomes the record when there is none yet; with no copy, the file is downloaded from
    its pinned revision, and recorded the same way."""
    if known_sha256 is not None:
        pinned = PinnedHubFile(source.relative_path, source.repo, source.revision, source.path, known_sha256)
        path, origin = resolve(pinned, download=download)
        return path, known_sha256, origin
    record = recorded_sha256(source)
    found = local_copy(source)  # duck-typed: only relative_path is read
    if found is not None:
        path, origin = found
        actual = sha256_of(path)
        if record is None:
            _write_record(source, actual, f"{origin}: {path}")
        elif actual != record:
            raise ChecksumMismatchError(
                f"{path} has sha256 {actual}, but {record} was recorded at this file's first use "
                f"({_record_path(source)}; the file is {source.pinned_url}): refusing altered data. Restore the "
                f"original, or remove the record if the new copy is known to be right")
        return path, actual, origin
    if not download or offline():
        why = f"${fetch.OFFLINE_ENV}=1" if offline() else "not requested"
        provided = data_dir()
        expected = f"sha256 {record}, as recorded at first use" if record else \
            "its sha256 is not published: it is recorded at first use"
        raise DataMissingError(
            f"{source.relative_path} is missing and downloads are off ({why}): it is neither under "
            f"${DATA_DIR_ENV} ({provided if provided else 'not set'}) nor in the cache ({cache_dir()}). "
            f"Put the file from {source.pinned_url} ({expected}) at ${DATA_DIR_ENV}/{source.relative_path}, "
            f"or allow downloads")
    destination = cache_dir() / source.relative_path
    actual = fetch.download_source(source, destination, expected_sha256=record,
                                   expected_note=f"but {record} was recorded at its first use ({_record_path(source)})")
    if record is None:
        _write_record(source, actual, f"downloaded from {source.pinned_url}")
    return destination, actual, "downloaded"


# ------------------------------------------------------------------ rows


@dataclass(frozen=True)
class VisualRow:
    """One kept row, before its image is read: what both benchmarks have in common."""

    source_id: str  # MathVista pid / MathVision id (strings in both files)
    question: str
    answer: str
    image: str  # the row's `image` field: a path relative to the dataset root
    meta: dict = field(default_factory=dict, compare=False)


def parse_mathvista(data: object, where: str = "testmini.json") -> tuple[list[VisualRow], int]:
    """(kept rows in file order, number of source rows) of a MathVista annotation dict
    (pid -> entry). Every entry is checked, not only the kept ones: a malformed file is
    refused rather than filtered."""
    if not isinstance(data, dict):
        raise ReproError(f"{where}: not a MathVista annotation file (expected an object keyed by pid)")
    kept: list[VisualRow] = []
    for key, entry in data.items():
        here = f"{where}, pid {key}"
        try:
            pid, question, answer = entry["pid"], entry["question"], entry["answer"]
            question_type, answer_type = entry["question_type"], entry["answer_type"]
            choices, unit, precision, image = entry["choices"], entry["unit"], entry["precision"], entry["image"]
            metadata = entry.get("metadata") or {}
        except (KeyError, TypeError) as error:
            raise ReproError(f"{here}: not a MathVista entry (missing {error})") from None
        if pid != key or not all(isinstance(value, str) for value in (pid, question, answer, image)):
            raise ReproError(f"{here}: pid, question, answer and image must be strings, pid equal to the key")
        if question_type not in ("free_form", "multi_choice"):
            raise ReproError(f"{here}: unknown question_type {question_type!r}")
        if answer_type not in MATHVISTA_ANSWER_TYPES:
            raise ReproError(f"{here}: unknown answer_type {answer_type!r}")
        if (choices is not None) != (question_type == "multi_choice"):
            raise ReproError(f"{here}: choices must be given exactly for multi_choice questions")
        if question_type != "free_form":
            continue
        precision = _precision(precision, here)
        if answer_type == "float" and precision is None:
            raise ReproError(f"{here}: a float answer without a precision")
        if unit is not None and not isinstance(unit, str):
            raise ReproError(f"{here}: unit must be a string or null")
        meta = {"answer_type": answer_type, "precision": precision, "unit": unit or None, "pid": pid,
                "source": metadata.get("source"), "context": metadata.get("context"),
                "category": metadata.get("category"), "language": metadata.get("language")}
        kept.append(VisualRow(pid, question, answer, image, meta))
    return kept, len(data)


def _precision(value: object, where: str) -> int | None:
    """MathVista's precision: an int in the JSON, a float (2.0) in the HF rows; None when unset."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or not 0 <= value <= 10:
        raise ReproError(f"{where}: precision {value!r} is not a small whole number")
    return int(value)


def parse_mathvision(text: str, where: str = "testmini.jsonl") -> tuple[list[VisualRow], int]:
    """(kept rows in file order, number of source rows) of MathVision JSON Lines."""
    kept: list[VisualRow] = []
    rows = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        here = f"{where} line {number}"
        try:
            row = json.loads(line)
            row_id, question, options, answer, image = (row["id"], row["question"], row["options"], row["answer"],
                                                        row["image"])
        except (ValueError, KeyError, TypeError) as error:
            raise ReproError(f"{here}: not a MathVision row ({error!r})") from None
        if not all(isinstance(value, str) for value in (row_id, question, answer, image)) or \
                not isinstance(options, list):
            raise ReproError(f"{here}: id, question, answer and image must be strings, options a list")
        rows += 1
        if options:
            continue
        # MathVision states no answer type or precision: the grader uses its generic rules.
        meta = {"answer_type": None, "precision": None, "unit": None, "id": row_id,
                "level": row.get("level"), "subject": row.get("subject")}
        kept.append(VisualRow(row_id, question, answer, image, meta))
    return kept, rows


# ------------------------------------------------------------------ images


_FORMATS = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF87a", "gif"), (b"GIF89a", "gif"),
            (b"BM", "bmp"))


def image_format(data: bytes) -> str:
    """The file format from its first bytes (a name ending in .jpg proves nothing)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for magic, name in _FORMATS:
        if data.startswith(magic):
            return name
    raise ReproError("not an image in a known format (jpeg, png, webp, gif, bmp)")


def _image_size(data: bytes) -> tuple[int, int]:
    """(width, height), decoding the file fully: a truncated image is refused at loading,
    not when a model is already running."""
    from PIL import Image  # pillow: a dependency of matplotlib and of the vision stack

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return image.size
    except (OSError, ValueError, SyntaxError) as error:
        raise ReproError(f"the image cannot be decoded ({error})") from None


def _store_image(folder: Path, stem: str, data: bytes) -> tuple[Path, str]:
    """Write the image as folder/<stem>.<format> unless an identical file is there; (path, sha256).

    The stored file is derived from a verified source, so a different file there (from an
    older run, or altered) is simply rewritten: only `verify_image`, after loading, refuses."""
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,100}", stem):
        raise ReproError(f"cannot name an image file after id {stem!r}")
    digest = hashlib.sha256(data).hexdigest()
    path = folder / f"{stem}.{image_format(data)}"
    if path.is_file() and sha256_of(path) == digest:
        return path, digest
    atomic_write(path, data)
    return path, digest


def build_problems(key: str, rows: Sequence[VisualRow], read_image: Callable[[VisualRow], bytes],
                   folder: Path) -> list[Problem]:
    """Problems of the kept rows (index = position among them), their images stored in folder."""
    prefix = _source(key).id_prefix
    problems: list[Problem] = []
    seen: set[str] = set()
    for position, row in enumerate(rows):
        problem_id = f"{prefix}/{row.source_id}"
        if problem_id in seen:
            raise ReproError(f"{problem_id} appears twice")
        seen.add(problem_id)
        try:
            data = read_image(row)
            width, height = _image_size(data)
            path, digest = _store_image(Path(folder), row.source_id, data)
        except ReproError as error:
            raise type(error)(f"{problem_id} (image {row.image}): {error}") from None
        meta = {**row.meta, "benchmark": key, "image_path": str(path.resolve()), "image_sha256": digest,
                "image_format": image_format(data), "image_size": [width, height], "source_image": row.image}
        problems.append(Problem(problem_id=problem_id, index=position, question=row.question, answer=row.answer,
                                meta=meta))
    return problems


def verify_image(problem: Problem) -> Path:
    """The problem's image file, after checking it still has the sha256 recorded at loading."""
    try:
        path, expected = Path(problem.meta["image_path"]), problem.meta["image_sha256"]
    except KeyError:
        raise ReproError(f"{problem.problem_id} has no image (meta lacks image_path / image_sha256)") from None
    if not path.is_file():
        raise DataMissingError(f"{problem.problem_id}: its image {path} is missing; load the benchmark again "
                               "to store it again from the verified source")
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumMismatchError(
            f"{problem.problem_id}: its image {path} has sha256 {actual}, but {expected} was recorded when the "
            "benchmark was loaded: refusing a changed image. Load the benchmark again to rewrite it from the "
            "verified source")
    return path


def visual_checksum(files: Iterable[tuple[str, str]], problems: Sequence[Problem]) -> str:
    """One digest for a loaded benchmark: sha256 of "<file> <sha256>\\n" for each source row
    file, then "<problem_id> <image sha256>\\n" for each kept problem, in order. It changes
    with any kept image, however the images were packaged."""
    lines = [f"{name} {digest}\n" for name, digest in files]
    lines += [f"{problem.problem_id} {problem.meta['image_sha256']}\n" for problem in problems]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


class ZipImages:
    """Reads the images of an archive laid out like MathVista's images.zip. The README unzips it
    inside data/ so that the rows' `image` paths ("images/<pid>.jpg") resolve: members are
    looked up under that exact name, or, failing that, as the one member ending in
    "/<image path>" (an archive with one more top folder). The layout was not seen here."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as error:
            raise ReproError(f"{self.path} is not a readable zip archive ({error})") from None
        self._members = {info.filename: info for info in self._zip.infolist()
                         if not info.is_dir() and not info.filename.startswith("__MACOSX/")}

    def read(self, image: str) -> bytes:
        info = self._members.get(image)
        if info is None:
            ending = [name for name in self._members if name.endswith("/" + image)]
            if len(ending) != 1:
                raise ReproError(f"{self.path.name} has {'no' if not ending else 'several'} member(s) named "
                                 f"{image!r} ({len(self._members)} files in the archive)")
            info = self._members[ending[0]]
        if info.file_size > MAX_IMAGE_BYTES:
            raise ReproError(f"{self.path.name}: member {info.filename} claims {info.file_size} bytes")
        try:
            return self._zip.read(info)
        except (zipfile.BadZipFile, OSError, RuntimeError) as error:
            raise ReproError(f"{self.path.name}: member {info.filename} cannot be read ({error})") from None

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> ZipImages:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------ loading


def _checked_counts(key: str, rows: int, kept: int, where: str) -> None:
    expected_rows, expected_kept = EXPECTED_COUNTS[key]
    if (rows, kept) != (expected_rows, expected_kept):
        raise ReproError(f"{where}: {rows} rows, {kept} kept by {RULES[key]}; the pinned file has "
                         f"{expected_rows} and {expected_kept}")


def _selection(key: str, rows: int, kept: int) -> dict:
    return {"source_rows": rows, "kept": kept, "rule": RULES[key]}


def load_visual_benchmark(key: str, *, download: bool, images_dir: Path) -> tuple[list[Problem], str, str, dict]:
    """(problems, checksum, origin, selection) of a visual benchmark, its images stored under
    images_dir/<key>/. origin: "data folder", "cache", "downloaded", or several joined by "+"."""
    problems, total, files, origins = _source(key).read(key, download, Path(images_dir) / key)
    checksum = visual_checksum(files, problems)
    return problems, checksum, "+".join(dict.fromkeys(origins)), _selection(key, total, len(problems))


def _source(key: str) -> _VisualSource:
    """The format of a visual benchmark, as its module declares it."""
    from repro.benchmarks import source_of  # the registry imports this module: not at load time

    return source_of(key, _VisualSource, "visual")


MAX_VISUAL_STANDINS = 100
STANDIN_NOTE = "stand-in problems written locally in the benchmark's real format (no data found)"


class _VisualSource:
    """A visual benchmark's `DataSource`: the real files (verified), or a stand-in in their
    format. Each format reads its rows, writes its stand-in rows and reads them back its own way."""

    id_prefix = ""  # problem ids are "<id_prefix>/<the row's own id>"

    def load(self, benchmark: Benchmark, *, download: bool, progress=None) -> LoadedData:
        problems, checksum, origin, selection = load_visual_benchmark(benchmark.key, download=download,
                                                                      images_dir=cache_dir() / "images")
        return LoadedData(problems, checksum, origin, selection)

    def stand_in(self, benchmark: Benchmark, *, progress=None) -> LoadedData:
        problems, checksum, selection = load_visual_standin(benchmark.key, MAX_VISUAL_STANDINS,
                                                            cache_dir() / "standins", cache_dir() / "images")
        return LoadedData(problems, "standin:" + checksum, "synthetic", selection, STANDIN_NOTE)

    def read(self, key: str, download: bool, folder: Path) -> tuple[list[Problem], int, list, list[str]]:
        """(problems, source rows, [(file, sha256)], origins) of the real files."""
        raise NotImplementedError

    def write_standin_rows(self, key: str, count: int, target: Path, references: dict[str, str]) -> Path:
        """Write the stand-in's rows and images under target; the row file's path."""
        raise NotImplementedError

    def read_standin(self, key: str, path: Path, image_folder: Path) -> tuple[list[Problem], int]:
        """(problems, source rows) of a stand-in written by write_standin_rows."""
        raise NotImplementedError


@dataclass(frozen=True)
class MathVistaFree(_VisualSource):
    """MathVista testmini: annotations (testmini.json) and the images archive of the hub dataset."""

    id_prefix = "mathvista"

    def read(self, key: str, download: bool, folder: Path) -> tuple[list[Problem], int, list, list[str]]:
        path, origin = resolve(MATHVISTA_ANNOTATIONS, download=download)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:  # the sha256 matched, so only a parser bug gets here
            raise ReproError(f"{path}: not JSON ({error})") from None
        rows, total = parse_mathvista(data, path.name)
        _checked_counts(key, total, len(rows), str(path))
        archive, _, archive_origin = resolve_recorded(MATHVISTA_IMAGES, download=download,
                                                      known_sha256=MATHVISTA_IMAGES_SHA256)
        with ZipImages(archive) as images:
            problems = build_problems(key, rows, lambda row: images.read(row.image), folder)
        return problems, total, [(MATHVISTA_ANNOTATIONS.path, MATHVISTA_ANNOTATIONS.sha256)], [origin, archive_origin]

    def write_standin_rows(self, key: str, count: int, target: Path, references: dict[str, str]) -> Path:
        entries: dict[str, dict] = {}
        images: list[tuple[str, bytes]] = []  # (row image field, bytes)
        for position, kept in enumerate(_standin_layout(count)):
            pid = str(position + 1)
            rng = random.Random(f"visual-standin:{key}:{kept if kept is not None else f'drop{position}'}")
            entry, picture, reference = (_mathvista_kept(pid, kept, rng) if kept is not None
                                         else _mathvista_dropped(pid, rng))
            entries[pid] = entry
            images.append((entry["image"], picture))
            if reference is not None:
                references[pid] = reference
        # json.dumps(..., indent=4) is how the upstream file is written (it round-trips byte for byte).
        path = target / "testmini.json"
        write_if_changed(path, json.dumps(entries, indent=4).encode("utf-8"))
        write_if_changed(target / "images.zip", _zip_bytes(images))
        return path

    def read_standin(self, key: str, path: Path, image_folder: Path) -> tuple[list[Problem], int]:
        rows, total = parse_mathvista(json.loads(path.read_text(encoding="utf-8")), path.name)
        with ZipImages(path.parent / "images.zip") as images:
            return build_problems(key, rows, lambda row: images.read(row.image), image_folder), total


@dataclass(frozen=True)
class MathVisionOpen(_VisualSource):
    """MathVision testmini: rows (testmini.jsonl) and one pinned image file per row."""

    id_prefix = "mathvision"

    def read(self, key: str, download: bool, folder: Path) -> tuple[list[Problem], int, list, list[str]]:
        path, origin = resolve(MATHVISION_ROWS, download=download)
        rows, total = parse_mathvision(path.read_text(encoding="utf-8"), path.name)
        _checked_counts(key, total, len(rows), str(path))
        origins = [origin]

        def read_image(row: VisualRow) -> bytes:
            image_path, image_origin = resolve(mathvision_image(row.image), download=download)
            origins.append(image_origin)
            return image_path.read_bytes()

        problems = build_problems(key, rows, read_image, folder)
        return problems, total, [(MATHVISION_ROWS.path, MATHVISION_ROWS.sha256)], origins

    def write_standin_rows(self, key: str, count: int, target: Path, references: dict[str, str]) -> Path:
        lines = []
        for position, kept in enumerate(_standin_layout(count)):
            row_id = str(position + 1)
            rng = random.Random(f"visual-standin:{key}:{kept if kept is not None else f'drop{position}'}")
            row, picture, reference = (_mathvision_kept(row_id, kept, rng) if kept is not None
                                       else _mathvision_dropped(row_id, rng))
            lines.append(json.dumps(row) + "\n")
            write_if_changed(target / row["image"], picture)
            if reference is not None:
                references[row_id] = reference
        path = target / "testmini.jsonl"
        write_if_changed(path, "".join(lines).encode("utf-8"))
        return path

    def read_standin(self, key: str, path: Path, image_folder: Path) -> tuple[list[Problem], int]:
        rows, total = parse_mathvision(path.read_text(encoding="utf-8"), path.name)
        return build_problems(key, rows, lambda row: _read_inside(path.parent, row.image), image_folder), total


def prefetch(*, download: bool = True) -> dict[str, tuple[Path, str]]:
    """Resolve every visual benchmark file now (a container build, or before going offline)."""
    found = {pinned.relative_path: resolve(pinned, download=download)
             for pinned in (MATHVISTA_ANNOTATIONS, MATHVISION_ROWS)}
    path, _, origin = resolve_recorded(MATHVISTA_IMAGES, download=download, known_sha256=MATHVISTA_IMAGES_SHA256)
    found[MATHVISTA_IMAGES.relative_path] = (path, origin)
    for image in sorted(MATHVISION_IMAGE_SHA256, key=int):
        pinned = mathvision_image(f"images/{image}.jpg")
        found[pinned.relative_path] = resolve(pinned, download=download)
    return found


# ------------------------------------------------------------------ stand-ins
#
# Small made-up benchmarks in the real formats, for the smoke tier (no network, no data):
# MathVista as a testmini.json-style dict plus an images.zip whose members are
# images/<pid>.jpg; MathVision as testmini.jsonl plus images/<id>.jpg files. Both include
# rows the filter must drop (multi_choice / with options). The images are PNG bytes behind
# .jpg names (as some of the HF MathVista images are), drawn with plain shapes and
# seven-segment digits (no fonts, so nothing depends on the fonts installed). Problem i is
# the same whatever the count. Their answers are simple; each problem's meta carries
# "reference_answer_text", a completion that the visual grader marks correct.

STANDIN_REFERENCES = "reference_answers.json"
MAX_STANDIN_PROBLEMS = 2000
STANDIN_IMAGE_SIZE = (112, 84)
_DROP_EVERY = 3  # after every 2 kept rows comes 1 row the filter drops


def standin_folder(key: str, folder: Path, count: int) -> Path:
    return Path(folder) / f"standin-{key}-{count}"


def _standin_layout(count: int) -> list[int | None]:
    """Row plan: kept index, or None for a dropped row (the 3rd, 6th, ... row)."""
    plan: list[int | None] = []
    kept = 0
    while kept < count:
        if len(plan) % _DROP_EVERY == _DROP_EVERY - 1:
            plan.append(None)
        else:
            plan.append(kept)
            kept += 1
    return plan


def write_visual_standins(key: str, folder: Path, count: int) -> Path:
    """Write a stand-in benchmark of `count` kept problems (if missing or different); the path
    of its row file (testmini.json / testmini.jsonl)."""
    _source(key)  # a visual benchmark, or one clear error
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_STANDIN_PROBLEMS:
        raise ReproError(f"a stand-in needs 1 to {MAX_STANDIN_PROBLEMS} problems, not {count!r}")
    target = standin_folder(key, folder, count)
    references: dict[str, str] = {}
    path = _source(key).write_standin_rows(key, count, target, references)
    write_if_changed(target / STANDIN_REFERENCES, (json.dumps(references, indent=1, sort_keys=True) + "\n").encode())
    return path


def load_visual_standin(key: str, count: int, folder: Path, images_dir: Path) -> tuple[list[Problem], str, dict]:
    """(problems, checksum, selection) of a stand-in, written if missing and read by the same
    parsing code as the real files; images stored under images_dir/standin-<key>-<count>/.
    checksum covers the row file and every kept image (callers mark it as a stand-in's)."""
    path = write_visual_standins(key, folder, count)
    target = path.parent
    image_folder = Path(images_dir) / target.name
    problems, total = _source(key).read_standin(key, path, image_folder)
    references = json.loads((target / STANDIN_REFERENCES).read_text(encoding="utf-8"))
    for problem in problems:
        problem.meta["reference_answer_text"] = references[problem.problem_id.split("/", 1)[1]]
    checksum = visual_checksum([(path.name, sha256_of(path))], problems)
    return problems, checksum, _selection(key, total, len(problems))


def _read_inside(root: Path, relative: str) -> bytes:
    path = (root / relative).resolve()
    if root.resolve() not in path.parents:
        raise ReproError(f"image path {relative!r} leaves the benchmark folder")
    try:
        return path.read_bytes()
    except OSError as error:
        raise DataMissingError(f"image {path} cannot be read ({error})") from None


def _zip_bytes(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A zip with fixed timestamps and attributes, so the same members give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2023, 10, 15, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _reference(thought: str, boxed: str) -> str:
    return f"<think>{thought}</think> The answer is \\boxed{{{boxed}}}."


# The metadata block every MathVista entry has (upstream key order).
def _mathvista_metadata(rng: random.Random, context: str, category: str) -> dict:
    return {"split": "testmini", "language": "english", "img_width": STANDIN_IMAGE_SIZE[0],
            "img_height": STANDIN_IMAGE_SIZE[1], "source": "StandIn", "category": category,
            "task": "figure question answering", "context": context, "grade": "elementary school",
            "skills": ["arithmetic reasoning"] if rng.random() < 0.5 else ["numeric commonsense"]}


def _mathvista_entry(pid: str, question: str, answer: str, question_type: str, answer_type: str,
                     precision: int | None = None, unit: str | None = None, choices: list[str] | None = None,
                     metadata: dict | None = None) -> dict:
    # Upstream key order: question, image, choices, unit, precision, answer, question_type,
    # answer_type, pid, metadata.
    return {"question": question, "image": f"images/{pid}.jpg", "choices": choices, "unit": unit,
            "precision": precision, "answer": answer, "question_type": question_type, "answer_type": answer_type,
            "pid": pid, "metadata": metadata}


def _mathvista_kept(pid: str, kept: int, rng: random.Random) -> tuple[dict, bytes, str]:
    kind = kept % 5
    if kind == 0:  # integer: count the squares
        n = rng.randint(2, 9)
        entry = _mathvista_entry(pid, "How many squares are in the picture?", str(n), "free_form", "integer",
                                 metadata=_mathvista_metadata(rng, "synthetic scene", "general-vqa"))
        return entry, _draw(squares=n, rng=rng), _reference(f"I count {n} squares.", str(n))
    if kind == 1:  # float, precision 1
        value = f"{rng.randint(1, 99) / 10:.1f}"
        entry = _mathvista_entry(pid, "What number is shown in the picture? Give it with one decimal place.",
                                 value, "free_form", "float", precision=1,
                                 metadata=_mathvista_metadata(rng, "scientific figure", "math-targeted-vqa"))
        return entry, _draw(text=value, rng=rng), _reference(f"The display reads {value}.", value)
    if kind == 2:  # integer with a unit (MathVista's 49 "years" rows)
        age = rng.randint(10, 60)
        entry = _mathvista_entry(pid, "How old is the person whose age is written in the picture? (Unit: years)",
                                 str(age), "free_form", "integer", unit="years",
                                 metadata=_mathvista_metadata(rng, "natural image", "general-vqa"))
        return entry, _draw(text=str(age), rng=rng), _reference(f"The picture says {age}.", f"{age} \\text{{ years}}")
    if kind == 3:  # list
        numbers = [rng.randint(0, 9) for _ in range(3)]
        answer = "[" + ", ".join(map(str, numbers)) + "]"
        entry = _mathvista_entry(pid, "List the digits in the picture from left to right, as a Python list.",
                                 answer, "free_form", "list",
                                 metadata=_mathvista_metadata(rng, "abstract scene", "math-targeted-vqa"))
        return entry, _draw(text=" ".join(map(str, numbers)), rng=rng), _reference("I read the digits.", answer)
    cents = rng.randint(1, 99)  # float, precision 2 (MathVista's prices)
    value = f"0.{cents:02d}"
    entry = _mathvista_entry(pid, "How much money is shown in the picture? (Unit: $)", value, "free_form",
                             "float", precision=2, metadata=_mathvista_metadata(rng, "table", "math-targeted-vqa"))
    return entry, _draw(text=value, rng=rng), _reference(f"It shows {value} dollars.", value)


def _mathvista_dropped(pid: str, rng: random.Random) -> tuple[dict, bytes, None]:
    shapes = ["circle", "square", "triangle"]
    shown = rng.choice(shapes)
    entry = _mathvista_entry(pid, "Which shape is shown in the picture?", shown, "multi_choice", "text",
                             choices=shapes, metadata=_mathvista_metadata(rng, "abstract scene", "general-vqa"))
    return entry, _draw(shapes=[shown], rng=rng), None


def _mathvision_row(row_id: str, question: str, options: list[str], answer: str, level: int,
                    subject: str) -> dict:
    # Upstream key order: id, question, options, answer, solution, level, subject, image.
    return {"id": row_id, "question": question, "options": options, "answer": answer, "solution": None,
            "level": level, "subject": subject, "image": f"images/{row_id}.jpg"}


def _mathvision_kept(row_id: str, kept: int, rng: random.Random) -> tuple[dict, bytes, str]:
    kind = kept % 4
    level = rng.randint(1, 5)
    if kind == 0:  # integer
        n = rng.randint(2, 9)
        row = _mathvision_row(row_id, "How many squares can you see in the picture?\n<image1>", [], str(n), level,
                              "counting")
        return row, _draw(squares=n, rng=rng), _reference(f"There are {n} squares.", str(n))
    if kind == 1:  # a decimal (MathVision's 4.8 and 2.5)
        tenths = rng.randint(11, 99)
        value = f"{tenths // 10}.{tenths % 10 or 5}"  # never "x.0", which reads as an integer
        row = _mathvision_row(row_id, "The picture shows the length of a segment in cm. How long is it?\n<image1>",
                              [], value, level, "metric geometry - length")
        return row, _draw(text=value, rng=rng), _reference(f"The length is {value}.", value)
    if kind == 2:  # a letter (MathVision id 59: the choices are drawn in the image)
        order = ["circle", "square", "triangle"]
        rng.shuffle(order)
        letter = "ABC"[order.index("triangle")]
        row = _mathvision_row(row_id, "The picture shows three shapes, A, B and C from left to right. Which one "
                              "is the triangle?\n<image1>", [], letter, level, "logic")
        return row, _draw(shapes=order, rng=rng), _reference(f"The triangle is shape {letter}.", letter)
    x, y = rng.randint(1, 9), rng.randint(1, 9)  # a coordinate pair (MathVision's "(3,-4)")
    answer = f"({x},-{y})"
    row = _mathvision_row(row_id, f"If the point $({x},{y})$ in the picture is reflected in the $x$-axis, what "
                          "are the coordinates of its image?\n<image1>", [], answer, level, "analytic geometry")
    return row, _draw(text=f"{x} {y}", rng=rng), _reference("Reflecting negates y.", f"({x}, -{y})")


def _mathvision_dropped(row_id: str, rng: random.Random) -> tuple[dict, bytes, None]:
    order = ["circle", "square", "triangle", "circle", "square"]
    rng.shuffle(order)
    letter = "ABCDE"[order.index("triangle")]
    row = _mathvision_row(row_id, "Which of the five shapes is the triangle?\n<image1>",
                          ["A", "B", "C", "D", "E"], letter, rng.randint(1, 5), "logic")
    return row, _draw(shapes=order, rng=rng), None


# Seven-segment digits: segments a (top), b (top right), c (bottom right), d (bottom),
# e (bottom left), f (top left), g (middle).
_SEGMENTS = {"0": "abcdef", "1": "bc", "2": "abdeg", "3": "abcdg", "4": "bcfg", "5": "acdfg", "6": "acdefg",
             "7": "abc", "8": "abcdefg", "9": "abcdfg", "-": "g"}


def _draw(*, rng: random.Random, squares: int = 0, text: str = "", shapes: Sequence[str] = ()) -> bytes:
    """A small PNG: `squares` filled squares on a grid, or `text` in seven-segment digits, or
    `shapes` drawn left to right."""
    from PIL import Image, ImageDraw

    width, height = STANDIN_IMAGE_SIZE
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    color = (rng.randint(0, 120), rng.randint(0, 120), rng.randint(60, 200))
    if squares:
        cells = rng.sample(range(15), squares)  # a 5 x 3 grid of 22 x 28 cells
        for cell in cells:
            x, y = 4 + (cell % 5) * 21, 4 + (cell // 5) * 26
            draw.rectangle([x, y, x + 14, y + 14], fill=color)
    if text:
        x = 6
        for char in text:
            if char == ".":
                draw.rectangle([x, 60, x + 3, 63], fill=color)
                x += 7
            elif char in _SEGMENTS:
                _seven_segment(draw, x, 22, _SEGMENTS[char], color)
                x += 17
            else:  # a space or a separator
                x += 8
    for position, shape in enumerate(shapes):
        box_width = width // max(len(shapes), 1)
        left, top = position * box_width + 3, 25
        right, bottom = left + box_width - 6, top + box_width - 6
        if shape == "circle":
            draw.ellipse([left, top, right, bottom], outline=color, width=2)
        elif shape == "square":
            draw.rectangle([left, top, right, bottom], outline=color, width=2)
        else:
            draw.polygon([((left + right) // 2, top), (right, bottom), (left, bottom)], outline=color, width=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _seven_segment(draw, x: int, y: int, segments: str, color: tuple[int, int, int]) -> None:
    w, h, t = 12, 20, 3  # a digit is 12 x 41 pixels, strokes 3 thick
    boxes = {"a": (x, y, x + w, y + t), "b": (x + w - t, y, x + w, y + h), "c": (x + w - t, y + h, x + w, y + 2 * h),
             "d": (x, y + 2 * h - t, x + w, y + 2 * h), "e": (x, y + h, x + t, y + 2 * h), "f": (x, y, x + t, y + h),
             "g": (x, y + h - 1, x + w, y + h + t - 1)}
    for segment in segments:
        draw.rectangle(boxes[segment], fill=color)
