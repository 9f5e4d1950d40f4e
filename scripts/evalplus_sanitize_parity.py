"""Parity study: our evalplus sanitizer (repro.grading.evalplus_sanitize) against evalplus'
own (evalplus 0.3.1, tree-sitter). Writes docs/evalplus_sanitize_parity.md.

    .venv/bin/python scripts/evalplus_sanitize_parity.py --evalplus-python SCRATCH/venv/bin/python \\
        [--cases 6000] [--seed 2504] [--data-dir SHARED/data]

SCRATCH/venv is a scratch virtual environment outside the project with evalplus 0.3.1 installed
without its dependencies (`pip install --no-deps evalplus==0.3.1`) plus tree-sitter 0.24.0 and
tree-sitter-python 0.23.6 (the releases current in early 2025, when Code-R1 was evaluated),
termcolor and tqdm. evalplus.sanitize imports evalplus.data, which needs the `datasets` stack
for its dataset loaders only; the worker mode below puts an empty stand-in for evalplus.data in
front of it, so the sanitizer itself is evalplus' code, unchanged. Nothing of evalplus is
copied here: it is imported at run time, in a subprocess under the scratch interpreter.

The cases are completions built deterministically from the seed: solutions in HumanEval/MBPP
style (written here; with --data-dir, also the real rows of shared/data/formats) dressed the
ways chat models dress them: prose and fences around, example calls, asserts and
`if __name__ == "__main__":` blocks after, helpers with and without `return`, decorators,
classes, globals of every assignment shape, `from __future__` and guarded imports, duplicate
definitions, tabs, truncation at the token budget, stray lines, and missing entry points.
Each case is sanitized by both; they agree when the texts are equal, or when both parse to
the same syntax tree (ast.dump; the only difference then is layout, which cannot change what
runs).

This file's top level imports the standard library only, because the worker mode runs under
the scratch interpreter.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # on sys.path in the main mode (for repro)
DEFAULT_SEED = 2504
DEFAULT_CASES = 6000

# (entry point, solution): the shapes of HumanEval/MBPP answers.
SOLUTIONS = [
    ("add", "def add(a, b):\n    return a + b\n"),
    ("has_close_elements", "from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
     "    \"\"\"Check whether two numbers are closer than threshold.\n\n    >>> has_close_elements([1.0, 2.0], 0.5)\n    False\n    \"\"\"\n"
     "    ordered = sorted(numbers)\n    for i in range(len(ordered) - 1):\n        if ordered[i + 1] - ordered[i] < threshold:\n"
     "            return True\n    return False\n"),
    ("is_palindrome_sum", "def _reverse(s):\n    return s[::-1]\n\n\ndef is_palindrome_sum(n):\n    s = str(n)\n    return s == _reverse(s)\n"),
    ("count_primes", "import math\n\ndef is_prime(k):\n    if k < 2:\n        return False\n    for d in range(2, int(math.isqrt(k)) + 1):\n"
     "        if k % d == 0:\n            return False\n    return True\n\ndef count_primes(n):\n    return sum(1 for k in range(n) if is_prime(k))\n"),
    ("fib", "from functools import lru_cache\n\n@lru_cache(maxsize=None)\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"),
    ("fib", "MEMO = {0: 0, 1: 1}\n\ndef fib(n):\n    if n not in MEMO:\n        MEMO[n] = fib(n - 1) + fib(n - 2)\n    return MEMO[n]\n"),
    ("squares", "def squares(n):\n    for i in range(n):\n        yield i * i\n"),
    ("squares", "def squares(n):\n    return [i * i for i in range(n)]\n"),
    ("max_run", "class Counter:\n    def __init__(self):\n        self.best = 0\n\n    def feed(self, run):\n        self.best = max(self.best, run)\n\n\n"
     "def max_run(xs):\n    c = Counter()\n    run = 0\n    prev = None\n    for x in xs:\n        run = run + 1 if x == prev else 1\n"
     "        prev = x\n        c.feed(run)\n    return c.best\n"),
    ("remove_vowels", "VOWELS = set('aeiouAEIOU')\n\n\ndef remove_vowels(text):\n    return ''.join(ch for ch in text if ch not in VOWELS)\n"),
    ("split_pairs", "a, b = 1, 2\nLIMIT: int = 10\nx = y = 3\n\ndef split_pairs(s):\n    return [s[i:i + 2] for i in range(0, len(s), 2)][:LIMIT]\n"),
    ("total", "import numpy as np\n\ndef total(xs):\n    return int(np.sum(xs))\n"),
    ("total", "try:\n    import numpy as np\nexcept ImportError:\n    np = None\n\ndef total(xs):\n    return sum(xs)\n"),
    ("async_value", "import asyncio\n\nasync def helper():\n    return 1\n\ndef async_value():\n    return asyncio.run(helper())\n"),
    ("first_word", "from __future__ import annotations\nimport re\n\ndef first_word(s: str) -> str | None:\n    m = re.match(r'\\w+', s)\n    return m.group(0) if m else None\n"),
    ("sort_by_key", "sort_by_key = lambda xs: sorted(xs, key=lambda p: p[1])\n"),
    ("gcd_all", "def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n\ndef gcd(a, b):\n    return a if b == 0 else gcd(b, a % b)\n\n"
     "def gcd_all(xs):\n    g = 0\n    for x in xs:\n        g = gcd(g, x)\n    return g\n"),
    ("shift", "def log(msg):\n    print(msg)\n\ndef shift(xs, k):\n    log('shifting')\n    k %= len(xs)\n    return xs[k:] + xs[:k]\n"),
    ("nested", "def nested(n):\n    def inner(m):\n        return m * 2\n    total = 0\n    for i in range(n):\n        total += inner(i)\n    return total\n"),
    ("matrix_sum", "from typing import List\nimport itertools as it, functools\n\ndef matrix_sum(m: List[List[int]]) -> int:\n"
     "    return functools.reduce(lambda a, b: a + b, it.chain.from_iterable(m), 0)\n"),
    ("word_count", "counts = {}\ncounts.update({'a': 1})\nobj = type('O', (), {})()\nobj.attr = 5\n\n"
     "def word_count(s):\n    return len(s.split()) + obj.attr - 5\n"),
    ("classify", "def classify(x):\n    match x:\n        case 0:\n            return 'zero'\n        case [a, *rest]:\n            return 'list'\n"
     "        case {'k': v, **others}:\n            return 'dict'\n        case _:\n            return 'other'\n"),
    ("main_entry", "def main_entry(s):\n    return f\"{s!r:>{WIDTH}}\"\n\nWIDTH = 8\n"),
    ("clamp", "pair = (1, 2)\nlo, hi = pair\n\ndef clamp(x):\n    return max(lo, min(hi, x))\n"),
    ("clamp", "lo, hi = BOUNDS = (0, 9)\nlimits = lo, hi\n[first, second] = limits\n\ndef clamp(x):\n    return max(lo, min(hi, x)) + first - second + 1\n"),
    ("apply", "class Config:\n    scale = 2\n\ndef scale(x):\n    return x * 3\n\ndef apply(x):\n    return Config.scale + x\n"),
    ("get_total", "total = 0\ntotal += 5\n\ndef get_total():\n    return total\n"),
    ("norm", "from dataclasses import dataclass\n\n@dataclass\nclass P:\n    x: int\n    y: int\n\ndef norm(p):\n    return abs(p.x) + abs(p.y)\n"),
    ("cached", "CACHE = {}\n\ndef cached(k):\n    global CACHE\n    if (v := CACHE.get(k)) is None:\n        CACHE[k] = v = k * 2\n    return v\n"),
    ("by_key", "def key(p):\n    return p[1]\n\ndef by_key(xs):\n    return sorted(xs, key=lambda q: q[0])\n"),
    ("solve", "import sys\n\ndef solve():\n    data = sys.stdin.read().split()\n    print(sum(map(int, data)))\n\nsolve()\n"),
]

PROSE = [
    "Here is the implementation:", "Sure! Below is a Python function that solves the problem.",
    "This function works as follows:", "Explanation:", "1. We iterate over the list.",
    "The time complexity is O(n log n).", "Let me know if you need anything else!",
    "Note: the function assumes valid input.", "- `numbers`: the input list", "Output: 5",
]
TEST_SUFFIXES = [
    "print({call})\n", "assert {call} is not None\n", "assert {call} == 42, 'wrong'\n",
    "if __name__ == \"__main__\":\n    print({call})\n", "result = {call}\nprint(result)\n",
    "# Example usage\nprint({call})  # prints the answer\n", "n = int(input())\nprint({call})\n",
    "for case in [1, 2, 3]:\n    print(case)\n", "x = 5\nx += 1\n",
]
STRAYS = ["", "    ", "```", "```python", "Output:", "5", ">>> add(1, 2)", "def broken(:", "    return x", "}", "print(\"unterminated"]


def _dress(rng: random.Random, entry: str, solution: str) -> str:
    """One completion around a solution."""
    parts = []
    if rng.random() < 0.5:
        parts.append(rng.choice(PROSE) + "\n\n")
    fenced = rng.random() < 0.6
    if fenced:
        parts.append(rng.choice(["```python\n", "```\n", "```py\n"]))
    code = solution
    if rng.random() < 0.4:
        code += "\n" + rng.choice(TEST_SUFFIXES).format(call=f"{entry}(1)")
    if rng.random() < 0.15:
        code = code.replace("    ", "\t")
    parts.append(code)
    if fenced and rng.random() < 0.85:
        parts.append("```\n")
    if rng.random() < 0.5:
        parts.append("\n" + "\n".join(rng.choice(PROSE) for _ in range(rng.randint(1, 4))) + "\n")
    text = "".join(parts)
    lines = text.split("\n")
    if rng.random() < 0.2:  # stray lines
        for _ in range(rng.randint(1, 3)):
            lines.insert(rng.randint(0, len(lines)), rng.choice(STRAYS))
    if rng.random() < 0.15:  # the token budget ran out
        cut = rng.randint(1, len(lines))
        lines = lines[:cut]
        if lines and rng.random() < 0.5:
            lines[-1] = lines[-1][: rng.randint(0, len(lines[-1]))]
    return "\n".join(lines)


def build_cases(count: int, seed: int, data_dir: Path | None) -> list[dict]:
    rng = random.Random(seed)
    solutions = list(SOLUTIONS)
    if data_dir is not None:
        formats = data_dir / "formats"
        for path in sorted(formats.glob("humanevalplus/*.jsonl")) + sorted(formats.glob("mbppplus/*.jsonl")):
            for line in path.read_text().splitlines():
                row = json.loads(line)
                # HumanEval+ solutions continue the prompt; MBPP+ prompts are the task text only
                program = row["prompt"] + row["canonical_solution"] if "humaneval" in path.parent.name else row["canonical_solution"]
                solutions.append((row["entry_point"], program))
    cases = []
    for index in range(count):
        entry, solution = rng.choice(solutions)
        roll = rng.random()  # mostly the solution's own entry point; sometimes none, or another name
        asked = None if roll < 0.05 else rng.choice(SOLUTIONS)[0] if roll < 0.1 else entry
        cases.append({"id": index, "entry": asked, "code": _dress(rng, entry, solution)})
    return cases


def _worker() -> None:
    """Under the scratch interpreter: evalplus' sanitize over JSON lines on stdin."""
    import types

    stand_in = types.ModuleType("evalplus.data")
    for name in ("get_human_eval_plus", "get_mbpp_plus", "load_solutions", "write_directory", "write_jsonl"):
        setattr(stand_in, name, None)
    sys.modules["evalplus.data"] = stand_in
    from evalplus.sanitize import sanitize  # noqa: the scratch environment's evalplus

    for line in sys.stdin:
        case = json.loads(line)
        try:
            out = {"id": case["id"], "text": sanitize(case["code"], entrypoint=case["entry"])}
        except Exception as error:  # evalplus raising is a result too
            out = {"id": case["id"], "error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(out) + "\n")


# Mutation check: each rule of ours switched off in turn (text edits of our module: one
# (before, after) pair, or a tuple of them). A rule that no case notices is a rule the corpus
# does not exercise.
MUTATIONS = {
    "decorated definitions kept": ("and not statement.decorator_list:\n            if statement.name not in seen and _has_return",
                                   ":\n            if statement.name not in seen and _has_return"),
    "functions kept without return": ("if statement.name not in seen and _has_return(statement):",
                                      "if statement.name not in seen:"),
    "__future__ imports kept": ('statement.module != "__future__"', "True"),
    "assignments named by their target only": (
        "    if len(targets) == 1 and isinstance(statement.value, ast.Name):\n        return statement.value.id\n", ""),
    "everything kept, reached or not": ("    if entry_point:\n        reached", "    if False:\n        reached"),
    "attribute names not identifiers": ("            yield child.attr\n", "            pass\n"),
    "keyword names not identifiers": ("            yield child.arg\n        elif isinstance(child, (ast.FunctionDef",
                                      "            pass\n        elif isinstance(child, (ast.FunctionDef"),
    "one-line stretches allowed": ("        j = max(j, i + 1)\n", "        j = max(j, i)\n"),
    "equally long stretches: the later start first": (
        ("heapq.heappush(queue, (-wanted, i, j))", "heapq.heappush(queue, (-wanted, -i, j))"),
        ("negative_count, i, j = heapq.heappop(queue)", "negative_count, i, j = heapq.heappop(queue); i = -i"),
        ("heapq.heappush(queue, (negative_count, i, j + 1))", "heapq.heappush(queue, (negative_count, -i, j + 1))")),
    "a later definition of a name wins": ("            if name not in seen:\n                definitions.append((name, statement))",
                                          "            if True:\n                definitions.append((name, statement))"),
}


def _sensitivity(cases: list[dict], theirs: dict[int, dict]) -> list[str]:
    import types

    source = (PROJECT_ROOT / "repro" / "grading" / "evalplus_sanitize.py").read_text()
    rows = []
    for label, edits in MUTATIONS.items():
        mutated = source
        for before, after in (edits if isinstance(edits[0], tuple) else [edits]):
            if before not in mutated:
                raise SystemExit(f"mutation {label!r} no longer matches repro/grading/evalplus_sanitize.py")
            mutated = mutated.replace(before, after)
        mutant = types.ModuleType("mutant")
        exec(compile(mutated, "mutant", "exec"), mutant.__dict__)
        noticed = sum(1 for case in cases if "text" in theirs[case["id"]]
                      and mutant.sanitize(case["code"], case["entry"]) != theirs[case["id"]]["text"])
        rows.append(f"| {label} | {noticed} |")
    return rows


def _write_golden(path: Path, cases: list[dict], theirs: dict[int, dict], count: int) -> None:
    """A fixed set of (completion, entry point, evalplus' output) for the test suite: the first
    distinct cases where the sanitizer changed the program, then some where it did not."""
    from repro.grading.evalplus_sanitize import longest_parsable_stretch

    changed, unchanged, seen = [], [], set()
    for case in cases:
        text = theirs[case["id"]].get("text")
        if text is None or case["code"] in seen:
            continue
        seen.add(case["code"])
        row = {"code": case["code"], "entry_point": case["entry"], "evalplus": text}
        (changed if text != longest_parsable_stretch(case["code"]) else unchanged).append(row)
    chosen = changed[: count * 3 // 4] + unchanged[: count - min(len(changed), count * 3 // 4)]
    path.write_text("".join(json.dumps(row) + "\n" for row in chosen))
    print(f"golden: {len(chosen)} cases -> {path}")


def _long_completions(lines: int) -> dict[str, str]:
    """Completions of a given length: rambling prose, code cut by the token budget, and prose
    with an unclosed bracket every seventh line."""
    return {
        "prose": "\n".join(f"Step {i}: we consider the case where n is {i}." for i in range(lines)),
        "code, cut at the end": "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(lines // 2)) + "def g(x):\n    return (x +",
        "prose with open brackets": "\n".join("x = (1," if i % 7 == 0 else f"Step {i}: think." for i in range(lines)),
    }


def _timings(evalplus_python: str) -> list[str]:
    """Seconds per completion, ours and evalplus', on long completions (evalplus' search parses
    every pair of lines, so it is timed on the shorter ones only)."""
    from repro.grading.evalplus_sanitize import sanitize

    rows = []
    for lines in (200, 400, 3000):
        for shape, text in _long_completions(lines).items():
            started = time.perf_counter()
            ours_text = sanitize(text, "f1")
            ours = time.perf_counter() - started
            theirs, same = "not run (cubic: hours)", ""
            if lines <= 400:
                started = time.perf_counter()
                output = subprocess.run([evalplus_python, __file__, "--worker"], check=True, capture_output=True,
                                        text=True, input=json.dumps({"id": 0, "entry": "f1", "code": text}) + "\n")
                theirs = f"{time.perf_counter() - started:.2f}"
                same = "yes" if json.loads(output.stdout).get("text") == ours_text else "NO"
            rows.append(f"| {shape} | {lines} | {ours:.2f} | {theirs} | {same} |")
    return rows


def _same_program(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return ast.dump(ast.parse(a)) == ast.dump(ast.parse(b))
    except (SyntaxError, ValueError):
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evalplus-python", help="the scratch interpreter with evalplus 0.3.1")
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--data-dir", type=Path, help="shared data folder (adds the real evalplus rows)")
    parser.add_argument("--out", type=Path, default=Path("docs/evalplus_sanitize_parity.md"))
    parser.add_argument("--write-golden", type=Path, help="also write test cases with evalplus' outputs here")
    parser.add_argument("--golden-cases", type=int, default=200)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker()
        return 0
    if not args.evalplus_python:
        parser.error("--evalplus-python is required")

    sys.path.insert(0, str(PROJECT_ROOT))
    from repro.grading.evalplus_sanitize import sanitize

    cases = build_cases(args.cases, args.seed, args.data_dir)
    started = time.perf_counter()
    completed = subprocess.run([args.evalplus_python, __file__, "--worker"], check=True, capture_output=True, text=True,
                               input="".join(json.dumps(case) + "\n" for case in cases))
    evalplus_s = time.perf_counter() - started
    theirs = {row["id"]: row for row in map(json.loads, completed.stdout.splitlines())}
    version = subprocess.run([args.evalplus_python, "-c", "import importlib.metadata as m; print(', '.join("
                              "f'{p} {m.version(p)}' for p in ('evalplus', 'tree-sitter', 'tree-sitter-python')))"],
                             check=True, capture_output=True, text=True).stdout.strip()

    started = time.perf_counter()
    ours = {case["id"]: sanitize(case["code"], case["entry"]) for case in cases}
    ours_s = time.perf_counter() - started

    equal = layout_only = 0
    differ: list[dict] = []
    for case in cases:
        their = theirs[case["id"]]
        if "error" in their:
            differ.append({**case, "ours": ours[case["id"]], "theirs": their["error"]})
        elif their["text"] == ours[case["id"]]:
            equal += 1
        elif _same_program(their["text"], ours[case["id"]]):
            layout_only += 1
        else:
            differ.append({**case, "ours": ours[case["id"]], "theirs": their["text"]})
    agree = equal + layout_only
    report = [
        "# evalplus sanitizer parity",
        "",
        f"Made by `scripts/evalplus_sanitize_parity.py --cases {args.cases} --seed {args.seed}"
        f"{' --data-dir DATA' if args.data_dir else ''}`; evalplus side: {version}, Python {sys.version.split()[0]}.",
        "",
        f"- cases: {len(cases)} completions ({len({c['code'] for c in cases})} distinct)",
        f"- agreement: **{agree} / {len(cases)} ({100 * agree / len(cases):.2f}%)**: {equal} identical texts, "
        f"{layout_only} the same program laid out differently",
        f"- time: evalplus {evalplus_s:.1f} s (its subprocess, tree-sitter, cubic line search), ours {ours_s:.1f} s",
        "",
        "What is compared: `repro.grading.evalplus_sanitize.sanitize(completion, entry_point)` and evalplus'",
        "`evalplus.sanitize.sanitize(completion, entrypoint)`, on completions built from the seed (the",
        "script's docstring lists the shapes). Agreement means identical text, or the same syntax tree.",
        "200 of these cases, with evalplus' outputs, are the golden cases of",
        "`tests/test_evalplus_sanitize.py` (`--write-golden`, run without `--data-dir`).",
        "",
        "To rerun, in a scratch folder outside the project:",
        "",
        "```bash",
        "python3 -m venv venv",
        "venv/bin/pip install tree-sitter==0.24.0 tree-sitter-python==0.23.6 termcolor tqdm",
        "venv/bin/pip install --no-deps evalplus==0.3.1",
        "```",
        "",
        "then, in the project, `.venv/bin/python scripts/evalplus_sanitize_parity.py --evalplus-python SCRATCH/venv/bin/python`.",
        "",
    ]
    report += ["## Long completions", "",
               "Seconds for one completion (evalplus' column includes starting its interpreter), and whether",
               "the outputs are the same:", "",
               "| completion | lines | ours | evalplus | same output |", "|---|---|---|---|---|",
               *_timings(args.evalplus_python), ""]
    report += ["## Does the corpus exercise every rule?", "",
               "Each rule of ours switched off in turn; the cases whose output then differs from evalplus':", "",
               "| rule switched off | cases that notice |", "|---|---|", *_sensitivity(cases, theirs), ""]
    if differ:
        report += ["## Disagreements", ""]
        for row in differ[:20]:
            report += [f"### case {row['id']} (entry point {row['entry']!r})", "", "completion:", "```",
                       row["code"], "```", "evalplus:", "```", row["theirs"], "```", "ours:", "```", row["ours"], "```", ""]
    args.out.write_text("\n".join(report) + "\n")
    if args.write_golden:
        _write_golden(args.write_golden, cases, theirs, args.golden_cases)
    print("\n".join(report[:8]))
    print(f"{len(differ)} disagreements; report: {args.out}")
    return 0 if not differ else 1


if __name__ == "__main__":
    raise SystemExit(main())
