"""The package's own files that a bundle carries (CITATION.cff, LICENSE, the pinned
requirements), found from a source checkout or from an installed wheel, and the Zenodo
metadata (`.zenodo.json`) made from CITATION.cff.

Where the files are: in a source checkout (and an editable install, and the container, which
installs from a copy of the repository) beside the `repro` package; in a wheel, in its
`.dist-info/licenses/` folder, where `license-files` in pyproject.toml puts them (CITATION.cff is
listed there too, so that an installed package can still say how to cite it).

Zenodo's deposit metadata (https://developers.zenodo.org/#representation) and the Citation File
Format (https://citation-file-format.github.io/) were read to map one onto the other; the
mapping is written here.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from repro.errors import ReproError
from repro.provenance import DISTRIBUTION
CITATION_FILE = "CITATION.cff"
LICENSE_FILE = "LICENSE"
_PACKAGE_ROOT = Path(__file__).resolve().parent


def project_file(name: str) -> Path | None:
    """A file of the project's root (CITATION.cff, LICENSE, requirements/cpu.txt...): from the
    source checkout beside the package, else from the installed distribution's metadata; None
    when neither has it."""
    checkout = _PACKAGE_ROOT.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / name).is_file():
        return checkout / name
    try:
        files = metadata.distribution(DISTRIBUTION).files or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == Path(name).name and ".dist-info" in str(file):
            path = Path(str(file.locate()))
            if path.is_file():
                return path
    return None


def read_citation(path: Path) -> dict[str, Any]:
    """CITATION.cff as a mapping, read with PyYAML (a CFF file is YAML); one line if malformed."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ReproError(f"{path} is not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(data, dict) or not data.get("title"):
        raise ReproError(f"{path} has no title: not a CITATION.cff")
    return data


def _creator(author: dict[str, Any]) -> dict[str, str]:
    """A CFF person or entity as a Zenodo creator ("Family, Given" for people)."""
    if author.get("family-names"):
        name = author["family-names"] + (f", {author['given-names']}" if author.get("given-names") else "")
    else:
        name = str(author.get("name", "unknown"))
    creator = {"name": name}
    if author.get("affiliation"):
        creator["affiliation"] = str(author["affiliation"])
    if author.get("orcid"):
        creator["orcid"] = str(author["orcid"]).rsplit("/", 1)[-1]
    return creator


def _text(value: Any) -> str:
    return " ".join(str(value).split())


def zenodo_metadata(citation: dict[str, Any], version: str, description: str) -> dict[str, Any]:
    """Zenodo deposit metadata from CITATION.cff: title, creators, version, license, keywords,
    publication date, and the cited paper as a related identifier (this software supplements it)."""
    record: dict[str, Any] = {
        "upload_type": "software" if citation.get("type", "software") == "software" else "dataset",
        "title": _text(citation["title"]),
        "creators": [_creator(author) for author in citation.get("authors", [])],
        "version": str(citation.get("version", version)),
        "description": description,
    }
    if citation.get("license"):
        record["license"] = str(citation["license"])
    if citation.get("keywords"):
        record["keywords"] = [str(keyword) for keyword in citation["keywords"]]
    if citation.get("date-released"):
        record["publication_date"] = str(citation["date-released"])
    related = []
    preferred = citation.get("preferred-citation") or {}
    if preferred.get("doi"):
        related.append({"identifier": str(preferred["doi"]), "relation": "isSupplementTo", "scheme": "doi",
                        "resource_type": "publication-preprint"})
    if citation.get("repository-code"):
        related.append({"identifier": str(citation["repository-code"]), "relation": "isSupplementTo",
                        "scheme": "url", "resource_type": "software"})
    if related:
        record["related_identifiers"] = related
    return record
