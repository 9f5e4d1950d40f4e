"""Stages that score responses under models instead of grading them: perplexity (Figure 6)
and the entropy-matched temperature (Figure 17). They sample through the pipeline's stores,
score with the engines' `score` (repro.sampling.base.Scorer) and keep what they measure in
repro.measurements."""
