"""The declarative shape of one paper experiment."""

from __future__ import annotations

from dataclasses import dataclass, field

from repro.lengths import LengthOverride

# Paper §3 "Evaluation protocol". Lengths are not set here: repro.lengths decides them for
# every run (an experiment may override them only with a source, `Experiment.lengths`).
PAPER_TEMPERATURE = 0.6
PAPER_TOP_P = 0.95


@dataclass(frozen=True)
class Arm:
    """One model sampled under one setting; `name` is unique within its experiment."""

    name: str
    model: str  # key of repro.models.MODELS
    role: str  # base, rl, instruct or distill
    temperature: float = PAPER_TEMPERATURE


@dataclass(frozen=True)
class CurveRef:
    """Selects one expected curve: a row group of expected/passk_curves.csv."""

    figure: str
    panel: str
    family: str
    curve: str


@dataclass(frozen=True)
class Panel:
    """One plotted panel: a benchmark, the paper's n there, and which arm drew which curve."""

    benchmark: str
    n: int
    curves: tuple[tuple[str, CurveRef], ...]  # (arm name, expected curve)

    @property
    def figure(self) -> str:
        return self.curves[0][1].figure

    @property
    def title(self) -> str:
        ref = self.curves[0][1]
        return f"{ref.figure}: {ref.panel} ({ref.family})"


@dataclass(frozen=True)
class HistogramRef:
    """An accuracy histogram of the paper (expected/histogram_bars.csv) and the arm behind it."""

    arm: str
    benchmark: str
    figure: str
    panel: str
    family: str
    series: str


@dataclass(frozen=True)
class SolvedSetRef:
    """A printed set of solved problems (expected/solved_sets.csv).

    The printed numbers are problem indices, i.e. `Problem.index` of the benchmark's problems
    (RunResult.problem_indices): positions in the order the paper's evaluation numbered them.
    For LiveCodeBench that is LiveCodeBench's runner order (question_id sorted as strings,
    livecodebench.HARNESS_ORDER), which the loader reproduces; not the order of the release
    files. docs/table5_ordering.md has the sources."""

    arm: str
    benchmark: str
    source: str  # "Table 4" / "Table 5"
    model: str  # the row name in the table
    first_index: int = 0  # the table covers problem indices first_index..last_index (inclusive)
    last_index: int | None = None


@dataclass(frozen=True)
class Experiment:
    id: str
    title: str
    section: str  # A..F of EXPERIMENTS.md
    figures: tuple[str, ...]
    kind: str  # math, code, visual, analysis, training
    arms: tuple[Arm, ...]
    panels: tuple[Panel, ...] = ()
    histograms: tuple[HistogramRef, ...] = ()
    solved_sets: tuple[SolvedSetRef, ...] = ()
    printed: tuple = ()  # repro.printed.PrintedRef: printed numbers this experiment reproduces
    claims: tuple = ()  # repro.claims.Claim objects
    top_p: float = PAPER_TOP_P
    # Lengths of this experiment's runs where the paper or its code sets them apart from the
    # table in repro.lengths (with the source); None: the table.
    lengths: LengthOverride | None = None
    needs: tuple[str, ...] = ()  # stages beyond generate/grade:math (see repro.experiments.stages)
    notes: tuple[str, ...] = field(default=())
    # (benchmark, template) where a benchmark asks for its own prompt whatever the model's
    # default (repro.models.Model.template): e.g. evalplus' chat prompt for HumanEval+/MBPP+.
    prompt_templates: tuple[tuple[str, str], ...] = ()
    # (arm, benchmark, n): runs an experiment declares without a paper curve to compare them
    # with (a pair of models the paper never saw: repro.pair).
    declared_runs: tuple[tuple[str, str, int], ...] = ()
    # (arm, calibration source) where a simulated run of the arm is drawn from given success
    # probabilities rather than fitted to the paper (repro.pair's doctored probabilities; the
    # source's shape is repro.plan.calibration_source's).
    simulations: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()

    def template_for(self, arm: str, benchmark: str) -> str:
        """The prompt template of an arm's runs on a benchmark."""
        from repro.models import get_model

        return dict(self.prompt_templates).get(benchmark) or get_model(self.arm(arm).model).template

    def arm(self, name: str) -> Arm:
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise KeyError(f"{self.id} has no arm {name!r}")

    def runs(self) -> dict[tuple[str, str], int]:
        """(arm, benchmark) -> the paper's n: every sample set the experiment needs."""
        wanted: dict[tuple[str, str], int] = {}
        for panel in self.panels:
            for arm_name, _ in panel.curves:
                key = (arm_name, panel.benchmark)
                wanted[key] = max(wanted.get(key, 0), panel.n)
        for ref in (*self.histograms, *self.solved_sets):
            key = (ref.arm, ref.benchmark)
            wanted.setdefault(key, _default_n(ref.benchmark))
        for arm_name, benchmark, n in self.declared_runs:
            key = (arm_name, benchmark)
            wanted[key] = max(wanted.get(key, 0), n)
        return wanted

    def simulation_for(self, arm: str) -> dict[str, object] | None:
        """The declared calibration source of a simulated arm, or None (fitted to the paper)."""
        for name, source in self.simulations:
            if name == arm:
                return dict(source)
        return None

    def expected_curve(self, arm: str, benchmark: str) -> CurveRef | None:
        """The paper curve that calibrates a simulated arm: the fullest one available."""
        candidates = [ref for panel in self.panels if panel.benchmark == benchmark
                      for name, ref in panel.curves if name == arm]
        # Figure 8 keeps only parts of its curves: prefer any other figure.
        candidates.sort(key=lambda ref: ref.figure == "Figure 8")
        return candidates[0] if candidates else None


def _default_n(benchmark: str) -> int:
    """The n the paper draws on a benchmark (App. A.2: 1,024 for AIME24 and AMC23, 128 elsewhere),
    as its module declares it."""
    from repro.benchmarks import get_benchmark

    return get_benchmark(benchmark).paper_n
