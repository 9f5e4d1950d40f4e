"""Per-request seeds.

vLLM's engine-level seed is not reproducible when the engine runs in its own process,
while a seed per request is (measured; see the architecture notes). A sample is therefore
identified by (run seed, problem id, round) and its seed is a hash of those three: the
same sample comes out whatever the batch, shard or resume point.
"""

from __future__ import annotations

import hashlib

# vLLM and torch accept any non-negative int that fits in 63 bits; 31 bits keeps the
# value valid for every engine (some cast to int32) at a negligible collision risk.
_SEED_BITS = 31


def request_seed(run_seed: int, problem_id: str, round_index: int) -> int:
    """Deterministic seed of one request; stable across Python versions and machines."""
    text = f"{run_seed}\x1f{problem_id}\x1f{round_index}".encode()
    digest = hashlib.sha256(text).digest()
    return int.from_bytes(digest[:8], "big") % (1 << _SEED_BITS)
