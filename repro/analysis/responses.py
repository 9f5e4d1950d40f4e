"""Responses of a run for chosen problems, and their scores under a model, both kept.

Responses come from the run's sample store (sampled there where missing, with the run's seeds,
exactly as `repro run` samples them), so an analysis and a pass@k experiment that ask for the
same run read the same samples. Scores are kept per response in repro.measurements, keyed by
the responses' store key, the problems, the scoring model and engine, and the temperature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from repro.errors import ReproError
from repro.measurements import MeasurementCache
from repro.pipeline import RunContext, engine_facts, engine_for, generate, missing_units, store_key, store_path
from repro.plan import RunSpec
from repro.problems import Problem
from repro.prompts import render_prompt
from repro.sampling.base import ScoreRequest
from repro.store import WHOLE, SampleStore, key_digest

# Bump when what a stored score means changes (tokenization of responses, aggregation).
SCORES_VERSION = 1


@dataclass(frozen=True)
class Responses:
    spec: RunSpec
    store_key_sha256: str
    texts: dict[str, list[str]]  # problem id -> the first spec.n response texts
    prompts: dict[str, str]  # problem id -> the prompt they answered


@dataclass(frozen=True)
class Scored:
    """Sums over one response's tokens (what perplexity and token-mean entropy need)."""

    tokens: int
    logprob_sum: float
    entropy_sum: float | None  # None: the engine gives no full distribution


def responses(context: RunContext, spec: RunSpec, problems: list[Problem], label: str) -> Responses:
    if context.shard != WHOLE:
        raise ReproError(f"{label}: scoring needs every sample of its problems; run it without --shard")
    key = store_key(spec, context.load(spec.benchmark))
    store = SampleStore.open(store_path(context.root, spec, key), key)
    missing = missing_units(store, problems, spec.rounds, WHOLE)
    if missing and not context.generate_missing:
        raise ReproError(f"{label}: {len(missing)} sample rounds are not in the store ({store.root})")
    with store.writing(WHOLE, sampling=bool(missing)):
        if missing:
            engine = engine_for(context, spec)
            store.bind_engine_facts(engine_facts(engine))
            generate(store, engine, problems, spec.template, spec.sampling_params(), spec.samples_per_round,
                     spec.rounds, context, label, spec.benchmark)
        samples = store.samples()
    texts = {problem.problem_id: [sample["text"] for r in range(spec.rounds)
                                  for sample in samples[(problem.problem_id, r)]][: spec.n]
             for problem in problems}
    prompts = {problem.problem_id: render_prompt(spec.template, problem) for problem in problems}
    return Responses(spec, key_digest(key), texts, prompts)


def scorer_key(spec: RunSpec) -> dict[str, Any]:
    """What identifies a scoring model and engine, known before any engine starts."""
    return {"model": spec.key()["model"], "engine": dict(spec.engine), "backend": spec.backend}


def score(context: RunContext, cache: MeasurementCache, scorer: RunSpec, answers: Responses,
          temperature: float) -> dict[str, list[Scored]]:
    """Scores of every response under the scorer's model (started only when not kept)."""
    key = {"version": SCORES_VERSION, "responses": answers.store_key_sha256, "n": answers.spec.n,
           "problems": sorted(answers.texts), "scorer": scorer_key(scorer), "temperature": temperature}
    kept = cache.get("scores", key)
    if kept is None:
        engine = engine_for(context, scorer)
        kept = {}
        for problem_id, texts in sorted(answers.texts.items()):
            results = engine.score([ScoreRequest(answers.prompts[problem_id], text) for text in texts], temperature)
            kept[problem_id] = [[len(r.logprobs), sum(r.logprobs), None if r.entropies is None else sum(r.entropies)]
                                for r in results]
        cache.put("scores", key, kept)
    return {problem_id: [Scored(int(t), float(lp), None if e is None else float(e)) for t, lp, e in rows]
            for problem_id, rows in kept.items()}
