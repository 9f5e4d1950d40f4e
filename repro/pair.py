"""A base/RL pair the paper never saw, declared by a user: `repro pair`.

The declaration (command-line options or a small TOML file, read with the standard library's
tomllib) becomes an ordinary `Experiment` -- arms, runs, claims -- plus the models it names,
so that the paper's own plan, store, graders, statistics and report machinery run it unchanged:
nothing here samples or grades. A model is a hub id with an optional revision
(`owner/name@commit`; without one, the run folder's lock fixes the commit at first download,
repro.model_lock) or a local folder (validated and hashed as a --checkpoint folder is:
repro.checkpoints). An existing folder wins over a hub id of the same spelling.

Defaults follow the paper (§3, App. A.2): its math benchmarks of Figures 2 and 9, each at the n
the paper drew there, k = 1, 2, 4, ... up to n, temperature 0.6, top-p 0.95, the prompt
template the model's family used in the paper (or one given by name), and the run plan's
length rule bounded by each model's context (repro.lengths).
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.benchmarks import get_benchmark
from repro.checkpoints import Checkpoint, CheckpointError, config_context, validate_checkpoint
from repro.claims import Crossing, HistogramShift, NearlySubset
from repro.code_prompts import CODE_TEMPLATES
from repro.errors import InputFileError, ReproError
from repro.experiments import EXPERIMENTS, Arm, Experiment
from repro.experiments.spec import PAPER_TEMPERATURE, PAPER_TOP_P
from repro.models import DAPO_STOPS, MODELS, QWEN_BOXED_STOPS, R1_STOPS, Model
from repro.prompts import template_text
from repro.sampling import get_backend
from repro.tiers import get_tier

# Figures 2 and 9: the six math benchmarks every SimpleRL-Zoo pair was drawn on.
PAPER_BENCHMARKS = ("aime24", "math500", "minerva", "olympiad", "amc23", "gsm8k")

# The paper's prompt per model family (docs/models.md): qwen-boxed for Qwen and LLaMA bases and
# their SimpleRL-Zoo models, the DAPO prompt for DAPO. Matched in the hub id or folder name,
# then in the config's model_type; a family not listed needs --template.
FAMILY_TEMPLATES = (("dapo", "dapo"), ("qwen", "qwen-boxed"), ("llama", "qwen-boxed"))
# The paper's evaluator's stop strings of each math template (repro.models); code templates
# carry their own (repro.plan.run_stop_strings).
TEMPLATE_STOPS = {"qwen-boxed": QWEN_BOXED_STOPS, "qwen25-math-cot": QWEN_BOXED_STOPS, "dapo": DAPO_STOPS,
                  "r1-zero": R1_STOPS}
DEFAULT_STOPS = ("</s>", "<|im_end|>", "<|endoftext|>")
# A hub model whose config is not here yet (`repro pair --plan` never downloads): the context
# assumed for planning; the config downloaded at the run replaces it.
ASSUMED_CONTEXT = 32768

_HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_TOML_KEYS = {"name", "base", "rl", "benchmarks", "n", "k", "template", "tier", "backend", "temperature", "top_p",
              "simulate"}


class PairError(ReproError):
    """A pair declaration that cannot run (one line, exit 2)."""


@dataclass(frozen=True)
class PairDeclaration:
    """What the user said, before anything is resolved."""

    base: str
    rl: tuple[str, ...]
    benchmarks: tuple[str, ...] = PAPER_BENCHMARKS
    n: int | None = None  # None: the paper's n on each benchmark
    ks: tuple[int, ...] | None = None  # None: 1, 2, 4, ... up to n
    template: str | None = None  # None: the family's (math), the paper's on the benchmark (code, visual)
    tier: str = "full"
    backend: str | None = None
    temperature: float = PAPER_TEMPERATURE
    top_p: float = PAPER_TOP_P
    name: str | None = None
    # Simulated backend only: arm -> {"probabilities": [...]} (per problem, in benchmark order,
    # repeated to cover them) or {"points": [[k, pass@k], ...]} (a curve to fit).
    simulate: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()


@dataclass(frozen=True)
class PairModel:
    """One model of the pair, resolved."""

    arm: str
    given: str  # as the user wrote it
    model: Model
    checkpoint: Checkpoint | None = None  # a local folder, hashed
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.checkpoint is not None:
            return f"local folder {self.checkpoint.path} (sha256 {self.checkpoint.sha256})"
        return f"hub {self.model.hf_id}@{self.model.revision or 'commit locked at first download'}"


@dataclass(frozen=True)
class Pair:
    declaration: PairDeclaration
    experiment: Experiment
    models: tuple[PairModel, ...]
    ks: tuple[int, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def checkpoints(self) -> dict[str, Checkpoint]:
        return {m.model.key: m.checkpoint for m in self.models if m.checkpoint is not None}

    @property
    def rl_arms(self) -> tuple[str, ...]:
        return tuple(arm.name for arm in self.experiment.arms if arm.role == "rl")


# ----------------------------------------------------------------------------- reading


def rl_arm_names(count: int) -> tuple[str, ...]:
    """"rl" for one RL model, "rl-1", "rl-2", ... for several (in the order given)."""
    return ("rl",) if count == 1 else tuple(f"rl-{i}" for i in range(1, count + 1))


def parse_ks(text: str) -> tuple[int, ...]:
    """"1,2,4,8" -> (1, 2, 4, 8)."""
    try:
        return tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise PairError(f"--k takes whole numbers separated by commas, not {text!r}") from None


def declaration_from_options(base: str | None, rl: list[str] | None, *, benchmarks: list[str] | None = None,
                             n: int | None = None, ks: tuple[int, ...] | None = None, template: str | None = None,
                             tier: str = "full", backend: str | None = None, name: str | None = None) -> PairDeclaration:
    if not base or not rl:
        raise PairError("a pair needs --base MODEL and at least one --rl MODEL (or a TOML file: see docs/pairs.md)")
    return PairDeclaration(base=base, rl=tuple(rl), benchmarks=tuple(benchmarks) if benchmarks else PAPER_BENCHMARKS,
                           n=n, ks=ks, template=template, tier=tier, backend=backend, name=name)


def declaration_from_toml(path: Path) -> PairDeclaration:
    """Read a pair file (docs/pairs.md lists its keys); relative model folders are relative to
    the file's folder."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise InputFileError(f"{path}: cannot read ({error.strerror or error})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputFileError(f"{path}: not valid TOML ({error})") from None
    unknown = sorted(set(data) - _TOML_KEYS)
    if unknown:
        raise InputFileError(f"{path}: unknown key {unknown[0]!r}; known: {', '.join(sorted(_TOML_KEYS))}")

    def typed(key: str, kinds, default=None):
        value = data.get(key, default)
        if value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
            raise InputFileError(f"{path}: {key} has the wrong type ({type(value).__name__})")
        return value

    rl = typed("rl", (str, list))
    rl = [rl] if isinstance(rl, str) else rl
    if not typed("base", str) or not rl or not all(isinstance(item, str) for item in rl):
        raise InputFileError(f"{path}: needs base = \"MODEL\" and rl = \"MODEL\" or a list of them")
    benchmarks = typed("benchmarks", list)
    ks = typed("k", list)
    if ks is not None and not all(isinstance(k, int) and not isinstance(k, bool) for k in ks):
        raise InputFileError(f"{path}: k must be a list of whole numbers")
    simulate = typed("simulate", dict) or {}

    def local(model: str) -> str:
        candidate = Path(path).parent / model
        return str(candidate) if not Path(model).is_absolute() and candidate.is_dir() else model

    return PairDeclaration(
        base=local(data["base"]), rl=tuple(local(model) for model in rl),
        benchmarks=tuple(benchmarks) if benchmarks else PAPER_BENCHMARKS, n=typed("n", int),
        ks=tuple(ks) if ks is not None else None, template=typed("template", str),
        tier=typed("tier", str, "full"), backend=typed("backend", str),
        temperature=float(typed("temperature", (int, float), PAPER_TEMPERATURE)),
        top_p=float(typed("top_p", (int, float), PAPER_TOP_P)), name=typed("name", str),
        simulate=tuple(sorted((str(arm), _simulation(path, arm, spec)) for arm, spec in simulate.items())))


def _simulation(path: Path, arm: str, spec: Any) -> tuple[tuple[str, Any], ...]:
    """[simulate.ARM] with probabilities = [...] or curve = {k = pass@k, ...}."""
    if not isinstance(spec, dict) or len(spec) != 1 or not {"probabilities", "curve"} & set(spec):
        raise InputFileError(f"{path}: [simulate.{arm}] takes one of probabilities = [...] or curve = {{1 = 0.3, ...}}")
    if "probabilities" in spec:
        values = spec["probabilities"]
        if not isinstance(values, list) or not values or not all(
                isinstance(p, (int, float)) and not isinstance(p, bool) and 0 <= p <= 1 for p in values):
            raise InputFileError(f"{path}: simulate.{arm}.probabilities must be numbers from 0 to 1")
        return (("probabilities", tuple(float(p) for p in values)),)
    curve = spec["curve"]
    try:
        points = tuple(sorted((int(k), float(v)) for k, v in curve.items()))
    except (AttributeError, ValueError, TypeError):
        raise InputFileError(f"{path}: simulate.{arm}.curve maps k to pass@k, e.g. {{1 = 0.3, 256 = 0.7}}") from None
    if not points or any(k < 1 or not 0 <= v <= 1 for k, v in points):
        raise InputFileError(f"{path}: simulate.{arm}.curve needs k >= 1 and pass@k from 0 to 1")
    return (("points", tuple(points)),)


# ----------------------------------------------------------------------------- resolving


def resolve_pair(declaration: PairDeclaration, *, fetch_config=None, progress=None) -> Pair:
    """Check every part of the declaration and build its experiment; one clear error otherwise.
    `fetch_config(hub_id, revision)`: a hub model's config.json as a dict, or None where it is
    not here (planning never downloads)."""
    tier = get_tier(declaration.tier)
    if declaration.backend is not None:
        get_backend(declaration.backend)
    benchmarks = tuple(dict.fromkeys(declaration.benchmarks))
    if not benchmarks:
        raise PairError("a pair needs at least one benchmark")
    declared = {benchmark: get_benchmark(benchmark) for benchmark in benchmarks}
    if declaration.template is not None:
        template_text(declaration.template)  # an unknown template stops here
        for benchmark, spec in declared.items():
            if (declaration.template in CODE_TEMPLATES) != (spec.kind == "code"):
                raise PairError(f"template {declaration.template!r} is not a {spec.kind} prompt, and {benchmark} is a "
                                f"{spec.kind} benchmark")
    if declaration.n is not None and declaration.n < 1:
        raise PairError(f"--n must be at least 1, not {declaration.n}")
    n_of = {benchmark: declaration.n or spec.paper_n for benchmark, spec in declared.items()}
    ks = _ks(declaration.ks, min(n_of.values()), declaration.n is not None)
    if not 0 < declaration.temperature <= 2 or not 0 < declaration.top_p <= 1:
        raise PairError("temperature must be in (0, 2] and top_p in (0, 1]")
    arms = ("base", *rl_arm_names(len(declaration.rl)))
    models = tuple(_resolve_model(arm, given, benchmarks, declaration.template, fetch_config, progress)
                   for arm, given in zip(arms, (declaration.base, *declaration.rl)))
    unknown_arms = sorted({arm for arm, _ in declaration.simulate} - set(arms))
    if unknown_arms:
        raise PairError(f"simulate.{unknown_arms[0]}: the pair's arms are {', '.join(arms)}")
    experiment = _experiment(declaration, models, benchmarks, n_of, tier.name)
    notes = tuple(note for model in models for note in model.notes)
    if tier.max_n is not None and ks[-1] > tier.max_n:
        notes += (f"the {tier.name} tier draws at most {tier.max_n} samples per problem: the curves stop at "
                  f"k = {max(k for k in ks if k <= tier.max_n) if ks[0] <= tier.max_n else 0}",)
    return Pair(declaration, experiment, models, ks, notes)


def _ks(asked: tuple[int, ...] | None, n: int, n_given: bool) -> tuple[int, ...]:
    if asked is None:
        ks, k = [], 1
        while k <= n:
            ks.append(k)
            k *= 2
        return tuple(ks)
    ks = tuple(sorted(set(asked)))
    if not ks or ks[0] < 1:
        raise PairError(f"every k must be at least 1, not {ks[0] if ks else 'none'}")
    if ks[-1] > n:
        said = f"--n {n}" if n_given else f"the paper's n of {n} on one of the benchmarks"
        raise PairError(f"{said} is smaller than the largest k asked ({ks[-1]}): pass@k needs n >= k")
    return ks


def _resolve_model(arm: str, given: str, benchmarks: tuple[str, ...], template: str | None, fetch_config,
                   progress) -> PairModel:
    folder = Path(given).expanduser()
    if folder.is_dir():
        return _local_model(arm, given, folder, template, progress)
    if folder.exists() or given.startswith((".", "/", "~")):
        raise PairError(f"{arm} model {given!r} is not a model folder (config.json and weights)")
    hub_id, _, revision = given.partition("@")
    if not _HUB_ID.fullmatch(hub_id) or (revision and not re.fullmatch(r"[A-Za-z0-9._/-]+", revision)):
        raise PairError(f"{arm} model {given!r} is neither a folder nor a hub id (owner/name or owner/name@revision)")
    revision = revision or None
    catalogued = next((m for m in MODELS.values() if m.hf_id == hub_id and m.released
                       and (revision is None or m.revision in (None, revision))), None)
    notes: list[str] = []
    if catalogued is not None and revision in (None, catalogued.revision) and template in (None, catalogued.template):
        # The paper's own model, as the catalogue declares it: its samples are the paper experiments'.
        return PairModel(arm, given, catalogued)
    config = fetch_config(hub_id, revision) if fetch_config is not None else None
    if catalogued is not None:
        context = catalogued.context_length
    elif config is not None and config_context(config):
        context = config_context(config)
    else:
        context = ASSUMED_CONTEXT
        notes.append(f"{given}: its config is not here yet, so planning assumed a {ASSUMED_CONTEXT:,}-token context; "
                     "a run on the real weights reads the real one first")
    chosen = template or _family_template(hub_id, config, given)
    key = "hub--" + hub_id.lower().replace("/", "--") + (f"--{_slug(revision)}" if revision else "")
    if template is not None or (catalogued is not None and chosen != catalogued.template):
        key += f"--{chosen}"
    model = Model(key, hub_id, revision, context, chosen, TEMPLATE_STOPS.get(chosen, DEFAULT_STOPS),
                  tensor_parallel_size=4 if _size_b(hub_id) >= 30 else 1,
                  note="declared with repro pair", declared=True)
    return PairModel(arm, given, model, None, tuple(notes))


def _local_model(arm: str, given: str, folder: Path, template: str | None, progress) -> PairModel:
    try:
        checkpoint = validate_checkpoint(arm, folder, progress)  # "cannot be loaded" stops here, one line
    except CheckpointError as error:
        why = str(error).split(": ", 1)[-1]
        raise PairError(f"{arm} model {given}: {why}") from None
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    context = config_context(config)
    if context is None:
        raise PairError(f"{arm} model {given}: its config.json gives no max_position_embeddings (the context)")
    chosen = template or _family_template(folder.resolve().name, config, given)
    key = f"local--{_slug(folder.resolve().name)}-{checkpoint.sha256[:12]}"
    if template is not None:
        key += f"--{template}"
    # released=False: a stand-in tier runs the folder itself rather than a tiny model (repro.plan).
    model = Model(key, f"(local folder {folder.resolve().name})", None, context, chosen,
                  TEMPLATE_STOPS.get(chosen, DEFAULT_STOPS), released=False, note="declared with repro pair",
                  declared=True)
    return PairModel(arm, given, model, checkpoint)


def _family_template(name: str, config: dict | None, given: str) -> str:
    haystacks = [name.lower(), str((config or {}).get("model_type", "")).lower()]
    for haystack in haystacks:
        for family, template in FAMILY_TEMPLATES:
            if family in haystack:
                return template
    families = ", ".join(sorted({family for family, _ in FAMILY_TEMPLATES}))
    raise PairError(f"{given}: no paper prompt is known for its family (known: {families}); name one with "
                    "--template (see `repro list --models`)")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-") or "model"


def _size_b(hub_id: str) -> float:
    """Billions of parameters from the id, as the catalogue reads them (for tensor parallelism)."""
    return Model("", hub_id, None, 1, "", ()).size_b


def _benchmark_template(benchmark: str, role: str) -> str | None:
    """The prompt the paper used on a code or visual benchmark (its experiment's), or None."""
    for experiment in EXPERIMENTS:
        for arm in experiment.arms:
            if arm.role == role and any(b == benchmark for _, b in experiment.runs()):
                return experiment.template_for(arm.name, benchmark)
    return None


def _experiment(declaration: PairDeclaration, models: tuple[PairModel, ...], benchmarks: tuple[str, ...],
                n_of: dict[str, int], tier: str) -> Experiment:
    arms = tuple(Arm(m.arm, m.model.key, "base" if m.arm == "base" else "rl", declaration.temperature)
                 for m in models)
    kinds = {get_benchmark(b).kind for b in benchmarks}
    templates = []
    for benchmark in benchmarks:
        if declaration.template is None and get_benchmark(benchmark).kind != "math":
            chosen = _benchmark_template(benchmark, "rl")
            if chosen is None:
                raise PairError(f"{benchmark}: the paper names no prompt for it; give --template")
            templates.append((benchmark, chosen))
    rl = [arm.name for arm in arms if arm.role == "rl"]
    several = len(rl) > 1
    claims = []
    for name in rl:
        label = f"{name}: " if several else ""
        claims.append(Crossing("base", name, benchmarks, text=f"{label}RL > base at k = 1 and base >= RL at the "
                                                               "largest k"))
        claims += [NearlySubset("base", name, b, text=f"{label}problems solved by RL are (nearly) a subset of "
                                                      "those solved by base") for b in benchmarks]
        claims.append(HistogramShift("base", name, benchmarks, family=name if several else ""))
    identity = {"models": [m.describe() for m in models], "templates": [m.model.template for m in models],
                "benchmarks": list(benchmarks), "n": n_of, "temperature": declaration.temperature,
                "top_p": declaration.top_p, "simulate": [[arm, dict(source)] for arm, source in declaration.simulate]}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=list).encode()).hexdigest()
    if declaration.name is not None and not _NAME.fullmatch(declaration.name):
        raise PairError(f"pair name {declaration.name!r}: lower-case letters, digits, '.', '_' and '-' only")
    pair_id = f"pair-{declaration.name or digest[:12]}"
    return Experiment(
        id=pair_id, title=f"Pair: {models[0].given} vs {', '.join(m.given for m in models[1:])}", section="pair",
        figures=(), kind=kinds.pop() if len(kinds) == 1 else "mixed", arms=arms, claims=tuple(claims),
        top_p=declaration.top_p, prompt_templates=tuple(templates),
        declared_runs=tuple((arm.name, b, n_of[b]) for arm in arms for b in benchmarks),
        simulations=declaration.simulate,
        notes=("declared by the user with `repro pair` (no paper curve to compare with)",))
