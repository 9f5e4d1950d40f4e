"""Writes the evalplus parity corpus: small problems in the HumanEval+ and MBPP+ release
formats (written for this study, not taken from the benchmarks) and programs for them.

    python tests/golden/evalplus_parity/build_corpus.py tests/golden/evalplus_parity

then `scripts/evalplus_parity.py --evalplus-python ... --record` adds evalplus' own verdicts to
programs.jsonl (tests/test_evalplus_parity.py checks ours against them).

Each program has a category (what it exercises: pass, comparison, input, return-type, error,
timeout). MBPP+ task ids are chosen for evalplus' per-id input deserialization (2: tuples, 106:
second argument a tuple, 124: complex numbers, 222: a tuple, 793: no plus inputs) and entry
points for its special oracles (similar_elements, are_equivalent, sum_div, surface_Area,
digit_distance_nums, the "not None" text_match_three / text_starta_endb, HumanEval's
find_zero). Programs that need numpy are marked `needs`, and those graded differently on
purpose `known_difference` (docs/code_grader_parity.md explains both).
"""

import json
import sys
from pathlib import Path

HE, MB, PROGS = [], [], []  # HumanEval+ rows, MBPP+ rows, programs
# program categories
P, C, I, R, E, T = "pass", "comparison", "input", "return-type", "error", "timeout"


def he(number, entry, prompt, canonical, base, plus, atol=0, progs=()):
    """A HumanEval+ row (the canonical solution is a body continuing the prompt) and its
    programs; a program that starts indented is a body too, and gets the prompt in front."""
    task_id = f"HumanEval/{number}"
    HE.append({"task_id": task_id, "prompt": prompt, "entry_point": entry, "canonical_solution": canonical,
               "base_input": base, "plus_input": plus, "atol": atol, "contract": ""})
    for name, category, body in progs:
        solution = prompt + body if body.startswith("    ") else body
        PROGS.append({"task_id": task_id, "name": name, "category": category, "solution": solution})


def mb(number, entry, canonical, base, plus, atol=0, progs=()):
    """An MBPP+ row (the canonical solution is the whole function) and its programs."""
    task_id = f"Mbpp/{number}"
    MB.append({"task_id": task_id, "prompt": f'"""\nWrite a function {entry}.\n"""\n', "entry_point": entry,
               "canonical_solution": canonical, "base_input": base, "plus_input": plus, "atol": atol,
               "contract": "", "assertion": ""})
    for name, category, body in progs:
        PROGS.append({"task_id": task_id, "name": name, "category": category, "solution": body})


# ---------------- HumanEval-format problems
he(0, "mean", 'def mean(xs: list) -> float:\n    """Arithmetic mean."""\n', "    return sum(xs) / len(xs)\n",
   [[[1, 2]], [[1.5, 2.5, 3.5]], [[0.1, 0.2, 0.3]]], [[[1e-9, 2e-9]], [[1e6, 1e6 + 1]], [[-3, 3]]], progs=[
    ("right", P, "    return sum(xs) / len(xs)\n"),
    ("fsum", C, "    import math\n    return math.fsum(xs) / len(xs)\n"),
    ("near-miss-1e-7", C, "    return sum(xs) / len(xs) + 1e-7\n"),
    ("near-miss-1e-5", C, "    return sum(xs) / len(xs) + 1e-5\n"),
    ("relative-1e-8", C, "    return (sum(xs) / len(xs)) * (1 + 1e-8)\n"),
    ("int-division", C, "    return sum(xs) // len(xs)\n"),
    ("returns-int-when-exact", R, "    m = sum(xs) / len(xs)\n    return int(m) if m == int(m) else m\n"),
    ("numpy-mean", R, "import numpy as np\ndef mean(xs):\n    return np.mean(xs)\n"),
    ("numpy-mean-near", R, "import numpy as np\ndef mean(xs):\n    return np.float64(sum(xs) / len(xs)) + np.float64(1e-9)\n"),
    ("string", R, "    return str(sum(xs) / len(xs))\n"),
    ("empty-error", E, "    return sum(xs) / (len(xs) - 2)\n"),
    ("none", R, "    pass\n"),
   ])
he(1, "scale", 'from typing import List\n\ndef scale(xs: List[float], k: float) -> List[float]:\n    """Multiply every element by k."""\n',
   "    return [x * k for x in xs]\n",
   [[[1.0, 2.0], 0.5], [[0.1, 0.7], 3.0], [[], 2.0]], [[[1e-3, 1e3], 1.1], [[2.5], -1.0]], progs=[
    ("right", P, "    return [x * k for x in xs]\n"),
    ("tuple", R, "    return tuple(x * k for x in xs)\n"),
    ("near-miss-each", C, "    return [x * k + 1e-8 for x in xs]\n"),
    ("far-each", C, "    return [x * k + 1e-4 for x in xs]\n"),
    ("one-short", C, "    return [x * k for x in xs][:-1] if len(xs) > 1 else [x * k for x in xs]\n"),
    ("numpy-array", R, "import numpy as np\ndef scale(xs, k):\n    return np.array(xs) * k\n"),
    ("numpy-tolist", R, "import numpy as np\ndef scale(xs, k):\n    return (np.array(xs, dtype=float) * k).tolist()\n"),
    ("mutates-input", I, "    for i in range(len(xs)):\n        xs[i] *= k\n    return xs\n"),
    ("generator", R, "    return (x * k for x in xs)\n"),
    ("ints-when-whole", R, "    return [int(x * k) if (x * k).is_integer() else x * k for x in xs]\n"),
   ])
he(2, "triangle_area", 'def triangle_area(a: float, b: float, c: float) -> float:\n    """Heron\'s formula; -1 if not a triangle."""\n',
   "    if a + b <= c or a + c <= b or b + c <= a:\n        return -1\n    s = (a + b + c) / 2\n    return round((s * (s - a) * (s - b) * (s - c)) ** 0.5, 2)\n",
   [[3, 4, 5], [1, 2, 10], [2, 2, 2]], [[7.5, 8.1, 9.3], [1, 1, 1.999]], atol=1e-3, progs=[
    ("right", P, "    if a + b <= c or a + c <= b or b + c <= a:\n        return -1\n    s = (a + b + c) / 2\n    return round((s * (s - a) * (s - b) * (s - c)) ** 0.5, 2)\n"),
    ("unrounded", C, "    if a + b <= c or a + c <= b or b + c <= a:\n        return -1\n    s = (a + b + c) / 2\n    return (s * (s - a) * (s - b) * (s - c)) ** 0.5\n"),
    ("minus-one-float", R, "    if a + b <= c or a + c <= b or b + c <= a:\n        return -1.0\n    s = (a + b + c) / 2\n    return round((s * (s - a) * (s - b) * (s - c)) ** 0.5, 2)\n"),
    ("off-by-5e-4", C, "    if a + b <= c or a + c <= b or b + c <= a:\n        return -1\n    s = (a + b + c) / 2\n    return round((s * (s - a) * (s - b) * (s - c)) ** 0.5, 2) + 5e-4\n"),
    ("off-by-2e-3", C, "    if a + b <= c or a + c <= b or b + c <= a:\n        return -1\n    s = (a + b + c) / 2\n    return round((s * (s - a) * (s - b) * (s - c)) ** 0.5, 2) + 2e-3\n"),
    ("no-check", E, "    s = (a + b + c) / 2\n    return round((s * (s - a) * (s - b) * (s - c)) ** 0.5, 2)\n"),
    ("string-minus-one", R, "    if a + b <= c or a + c <= b or b + c <= a:\n        return '-1'\n    s = (a + b + c) / 2\n    return round((s * (s - a) * (s - b) * (s - c)) ** 0.5, 2)\n"),
   ])
he(32, "find_zero", 'import math\n\n\ndef poly(xs: list, x: float):\n    return sum([coeff * math.pow(x, i) for i, coeff in enumerate(xs)])\n\n\ndef find_zero(xs: list):\n    """A zero of the polynomial with coefficients xs."""\n',
   "    begin, end = -1.0, 1.0\n    while poly(xs, begin) * poly(xs, end) > 0:\n        begin *= 2.0\n        end *= 2.0\n    while end - begin > 1e-10:\n        center = (begin + end) / 2.0\n        if poly(xs, center) * poly(xs, begin) > 0:\n            begin = center\n        else:\n            end = center\n    return begin\n",
   [[[1, 2]], [[-6, 11, -6, 1]]], [[[5, 3, -1, 2]]], atol=1e-4, progs=[
    ("right", P, "    begin, end = -1.0, 1.0\n    while poly(xs, begin) * poly(xs, end) > 0:\n        begin *= 2.0\n        end *= 2.0\n    while end - begin > 1e-10:\n        center = (begin + end) / 2.0\n        if poly(xs, center) * poly(xs, begin) > 0:\n            begin = center\n        else:\n            end = center\n    return begin\n"),
    ("newton", P, "    x = 0.0\n    for _ in range(200):\n        d = sum(i * c * x ** (i - 1) for i, c in enumerate(xs) if i)\n        if d == 0:\n            x += 0.1\n            continue\n        x -= poly(xs, x) / d\n    return x\n"),
    ("wrong-zero", C, "    return 0.0\n"),
    ("raises", E, "    raise ValueError('no zero')\n"),
   ])
he(3, "count_words", 'def count_words(s: str) -> int:\n    """Number of whitespace-separated words."""\n',
   "    return len(s.split())\n", [["a b c"], [""], ["  x  "]], [["one\ttwo\nthree"], ["a" * 50]], progs=[
    ("right", P, "    return len(s.split())\n"),
    ("split-space", C, "    return len(s.split(' '))\n"),
    ("bool-result", R, "    return bool(len(s.split()))\n"),
    ("float-result", R, "    return float(len(s.split()))\n"),
    ("float-near", R, "    return len(s.split()) + 1e-9\n"),
    ("prints-too", P, "    print('counting', s)\n    return len(s.split())\n"),
    ("reads-stdin", E, "    input()\n    return len(s.split())\n"),
    ("opens-file", E, "    open('x.txt', 'w')\n    return len(s.split())\n"),
    ("calls-exit", E, "    exit(0)\n"),
    ("sys-exit", E, "import sys\ndef count_words(s):\n    sys.exit(0)\n"),
    ("keyboard-interrupt", E, "    raise KeyboardInterrupt\n"),
    ("syntax-error", E, "def count_words(s):\n    return len(s.split()\n"),
    ("missing-entry", E, "def count_word(s):\n    return len(s.split())\n"),
    ("top-level-error", E, "x = 1 / 0\ndef count_words(s):\n    return len(s.split())\n"),
    ("recursion-error", E, "    return count_words(s)\n"),
    ("os-getcwd", E, "import os\ndef count_words(s):\n    os.getcwd()\n    return len(s.split())\n"),
    ("os-exit", E, "import os\ndef count_words(s):\n    os._exit(0)\n"),
    ("segfault", E, "import ctypes\ndef count_words(s):\n    return ctypes.string_at(0)\n"),
    ("prints-a-lot", P, "def count_words(s):\n    for _ in range(2000):\n        print('x' * 1000)\n    return len(s.split())\n"),
    ("claims-equality", R, "class Anything:\n    def __eq__(self, other):\n        return True\ndef count_words(s):\n    return Anything()\n"),
    ("lying-int-subclass", R, "class Int(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\ndef count_words(s):\n    return Int(-1)\n"),
    ("imports-multiprocessing", P, "import multiprocessing\ndef count_words(s):\n    return len(s.split()) + 0 * multiprocessing.cpu_count()\n"),
    ("imports-process-pool", P, "from concurrent.futures import ProcessPoolExecutor\ndef count_words(s):\n    return len(s.split())\n"),
    ("uses-process-pool", E, "from multiprocessing import Pool\ndef count_words(s):\n    with Pool(2) as pool:\n        return sum(pool.map(len, [s.split()]))\n"),
    ("uses-threads", P, "from concurrent.futures import ThreadPoolExecutor\ndef count_words(s):\n    with ThreadPoolExecutor(2) as pool:\n        return sum(pool.map(lambda w: 1, s.split()))\n"),
    ("writes-stderr", P, "import sys\ndef count_words(s):\n    sys.stderr.write('hi\\n')\n    return len(s.split())\n"),
   ])
he(4, "sort_unique", 'def sort_unique(xs: list) -> list:\n    """Sorted distinct elements."""\n',
   "    return sorted(set(xs))\n", [[[3, 1, 3]], [[]], [[5, -1, 5, 0]]], [[[2] * 30], [[9, 8, 7]]], progs=[
    ("right", P, "    return sorted(set(xs))\n"),
    ("tuple", R, "    return tuple(sorted(set(xs)))\n"),
    ("set", R, "    return set(xs)\n"),
    ("unsorted", C, "    return list(set(xs))[::-1]\n"),
    ("dict-keys", R, "    return list(dict.fromkeys(sorted(xs)))\n"),
    ("none", R, "    xs.sort()\n"),
    ("floats", R, "    return [float(x) for x in sorted(set(xs))]\n"),
    ("huge-list", C, "    return sorted(set(xs)) + list(range(2 * 10 ** 6))\n"),
   ])
he(5, "parse_pair", 'def parse_pair(s: str) -> tuple:\n    """"a,b" -> (a, b) as ints."""\n',
   "    a, b = s.split(',')\n    return (int(a), int(b))\n", [["1,2"], ["-3,40"]], [["0,0"], ["10,-10"]], progs=[
    ("right", P, "    a, b = s.split(',')\n    return (int(a), int(b))\n"),
    ("list", R, "    return [int(t) for t in s.split(',')]\n"),
    ("strings", R, "    return tuple(s.split(','))\n"),
    ("floats", R, "    return tuple(float(t) for t in s.split(','))\n"),
    ("namedtuple", R, "from collections import namedtuple\nP = namedtuple('P', 'a b')\ndef parse_pair(s):\n    a, b = s.split(',')\n    return P(int(a), int(b))\n"),
   ])
he(6, "letter_counts", 'def letter_counts(s: str) -> dict:\n    """Count of each letter."""\n',
   "    d = {}\n    for ch in s:\n        d[ch] = d.get(ch, 0) + 1\n    return d\n", [["aab"], [""]], [["xyzzy"], ["aaaa"]], progs=[
    ("right", P, "    d = {}\n    for ch in s:\n        d[ch] = d.get(ch, 0) + 1\n    return d\n"),
    ("counter", P, "from collections import Counter\ndef letter_counts(s):\n    return Counter(s)\n"),
    ("defaultdict", P, "from collections import defaultdict\ndef letter_counts(s):\n    d = defaultdict(int)\n    for ch in s:\n        d[ch] += 1\n    return d\n"),
    ("items-list", R, "    d = {}\n    for ch in s:\n        d[ch] = d.get(ch, 0) + 1\n    return list(d.items())\n"),
    ("float-counts", R, "    d = {}\n    for ch in s:\n        d[ch] = d.get(ch, 0) + 1.0\n    return d\n"),
    ("zero-count", C, "    d = {c: 0 for c in 'ab'}\n    for ch in s:\n        d[ch] = d.get(ch, 0) + 1\n    return d\n"),
   ])
he(7, "is_prime", 'def is_prime(n: int) -> bool:\n    """Whether n is prime."""\n',
   "    if n < 2:\n        return False\n    k = 2\n    while k * k <= n:\n        if n % k == 0:\n            return False\n        k += 1\n    return True\n",
   [[1], [2], [9], [13]], [[97], [7919], [1000000007]], progs=[
    ("right", P, "    if n < 2:\n        return False\n    k = 2\n    while k * k <= n:\n        if n % k == 0:\n            return False\n        k += 1\n    return True\n"),
    ("ints", R, "    if n < 2:\n        return 0\n    k = 2\n    while k * k <= n:\n        if n % k == 0:\n            return 0\n        k += 1\n    return 1\n"),
    ("strings", R, "    if n < 2:\n        return 'False'\n    return str(all(n % k for k in range(2, int(n ** 0.5) + 1)))\n"),
    ("one-is-prime", C, "    if n < 1:\n        return False\n    return all(n % k for k in range(2, int(n ** 0.5) + 1))\n"),
    ("slow-linear", T, "    if n < 2:\n        return False\n    return all(n % k for k in range(2, n))\n"),
    ("numpy-bool", R, "import numpy as np\ndef is_prime(n):\n    return np.bool_(n >= 2 and all(n % k for k in range(2, int(n ** 0.5) + 1)))\n"),
   ])
he(8, "total", 'def total(n: int) -> int:\n    """Sum of 0..n-1."""\n',
   "    return n * (n - 1) // 2\n", [[0], [10], [1000]], [[10 ** 6], [7]], progs=[
    ("right", P, "    return n * (n - 1) // 2\n"),
    ("loop-fast", P, "    return sum(range(n))\n"),
    ("infinite-loop", T, "    while True:\n        pass\n"),
    ("sleeps", T, "    import time\n    time.sleep(5)\n    return n * (n - 1) // 2\n"),
    ("slow-but-in-time", P, "    import time\n    time.sleep(0.15)\n    return n * (n - 1) // 2\n"),
    ("catches-timeout", T, "    while True:\n        try:\n            while True:\n                pass\n        except Exception:\n            pass\n"),
    ("top-level-loop", T, "while True:\n    pass\n"),
    ("top-level-sleep-4.5s", T, "import time\ntime.sleep(4.5)\ndef total(n):\n    return n * (n - 1) // 2\n"),
    ("top-level-sleep-3s", P, "import time\ntime.sleep(3)\ndef total(n):\n    return n * (n - 1) // 2\n"),
    ("memory-hog", E, "    x = bytearray(8 * 1024 ** 3)\n    return n * (n - 1) // 2\n"),
    ("float-result", R, "    return n * (n - 1) / 2\n"),
    ("deep-recursion", P, "import sys\nsys.setrecursionlimit(100000)\ndef total(n):\n    def go(k):\n        return 0 if k == 0 else k - 1 + go(k - 1)\n    return go(n) if n < 5000 else n * (n - 1) // 2\n"),
   ])
he(9, "shout", 'def shout(s: str) -> str:\n    """Upper case with a final "!"."""\n',
   "    return s.upper() + '!'\n", [["hi"], [""]], [["Mixed Case"], ["\u00e9t\u00e9"]], progs=[
    ("right", P, "    return s.upper() + '!'\n"),
    ("bytes", R, "    return (s.upper() + '!').encode()\n"),
    ("prints-result", R, "    print(s.upper() + '!')\n"),
    ("ascii-only", C, "    return ''.join(chr(ord(c) - 32) if 'a' <= c <= 'z' else c for c in s) + '!'\n"),
    ("list-of-chars", R, "    return list(s.upper() + '!')\n"),
   ])
he(10, "power", 'def power(a: int, b: int) -> int:\n    """a ** b."""\n',
   "    return a ** b\n", [[2, 10], [3, 0]], [[7, 80], [-2, 63], [10, 400]], progs=[
    ("right", P, "    return a ** b\n"),
    ("pow-float", R, "    return float(a) ** b\n"),
    ("math-pow", R, "    import math\n    return math.pow(a, b)\n"),
    ("loop", P, "    r = 1\n    for _ in range(b):\n        r *= a\n    return r\n"),
    ("off-by-one", C, "    return a ** b + (1 if b > 70 else 0)\n"),
   ])
he(11, "halves", 'def halves(xs: list) -> list:\n    """Each integer halved (true division)."""\n',
   "    return [x / 2 if x % 2 else x // 2 for x in xs]\n", [[[1, 2, 3]], [[4]]], [[[5, 6, 7, 8]]], progs=[
    ("right", P, "    return [x / 2 if x % 2 else x // 2 for x in xs]\n"),
    ("all-floats", R, "    return [x / 2 for x in xs]\n"),
    ("near-miss", C, "    return [x / 2 + 1e-9 if x % 2 else x // 2 for x in xs]\n"),
   ])
he(12, "ratio", 'def ratio(a: float, b: float) -> float:\n    """a / b, inf when b is 0, nan for 0/0."""\n',
   "    if b == 0:\n        return float('nan') if a == 0 else float('inf')\n    return a / b\n", [[1, 2], [1, 0]], [[0, 0]], progs=[
    ("right", P, "    if b == 0:\n        return float('nan') if a == 0 else float('inf')\n    return a / b\n"),
    ("none-for-nan", R, "    if b == 0:\n        return None if a == 0 else float('inf')\n    return a / b\n"),
    ("big-not-inf", C, "    if b == 0:\n        return float('nan') if a == 0 else 1e308\n    return a / b\n"),
   ])
he(13, "rounded_mean", 'def rounded_mean(xs: list) -> float:\n    """Mean, rounded to 2 places."""\n',
   "    return round(sum(xs) / len(xs), 2)\n", [[[1, 2, 2]], [[0.333, 0.334]]], [[[10, 20, 25]]], atol=0.01, progs=[
    ("right", P, "    return round(sum(xs) / len(xs), 2)\n"),
    ("unrounded", C, "    return sum(xs) / len(xs)\n"),
    ("off-by-0.02", C, "    return round(sum(xs) / len(xs), 2) + 0.02\n"),
    ("int-when-whole", R, "    m = round(sum(xs) / len(xs), 2)\n    return int(m) if m == int(m) else m\n"),
   ])

he(14, "half_or_pair", 'def half_or_pair(x: int):\n    """x / 2 for odd x, else [x // 2, x // 2]."""\n',
   "    return x / 2 if x % 2 else [x // 2, x // 2]\n", [[1], [4]], [[6]], progs=[
    ("right", P, "    return x / 2 if x % 2 else [x // 2, x // 2]\n"),
    ("near-ints-in-base", C, "    if x % 2:\n        return x / 2\n    return [x // 2, x // 2 + 1e-7] if x < 5 else [x // 2, x // 2]\n"),
    ("near-ints-in-plus", C, "    if x % 2:\n        return x / 2\n    return [x // 2, x // 2 + 1e-7] if x > 5 else [x // 2, x // 2]\n"),
    ("near-ints-everywhere", C, "    if x % 2:\n        return x / 2\n    return [x // 2, x // 2 + 1e-7]\n"),
   ])
he(15, "slow_double", 'def slow_double(n: int) -> int:\n    """2 n, slowly."""\n',
   "    import time\n    time.sleep(0.4)\n    return 2 * n\n", [[1], [2]], [[3]], progs=[
    ("right", P, "    import time\n    time.sleep(0.4)\n    return 2 * n\n"),
    ("three-times-slower", P, "    import time\n    time.sleep(1.2)\n    return 2 * n\n"),
    ("ten-times-slower", T, "    import time\n    time.sleep(4)\n    return 2 * n\n"),
   ])
he(16, "depth", 'def depth(n: int) -> int:\n    """n, computed by recursion."""\n',
   "    return n\n", [[10], [1000]], [[30000]], progs=[
    ("right", P, "    return n\n"),
    ("plain-recursion", P, "import sys\nsys.setrecursionlimit(10 ** 6)\ndef depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\n"),
    ("recursion-through-map", P, "import sys\nsys.setrecursionlimit(10 ** 6)\ndef depth(n):\n    return 0 if n == 0 else 1 + sum(map(depth, [n - 1]))\n"),
    ("lru-cache-recursion", P, "import sys\nfrom functools import lru_cache\nsys.setrecursionlimit(10 ** 6)\n@lru_cache(maxsize=None)\ndef depth(n):\n    return 0 if n == 0 else depth(n - 1) + 1\n"),
    ("default-recursion-limit", E, "def depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\n"),
    ("unbounded-recursion", E, "import sys\nsys.setrecursionlimit(10 ** 7)\ndef depth(n):\n    return 1 + sum(map(depth, [n - 1]))\n"),
    ("recursion-in-thread", P, "import sys, threading\nsys.setrecursionlimit(10 ** 6)\nthreading.stack_size(256 * 1024 * 1024)\ndef depth(n):\n    out = []\n    def go(k):\n        return 0 if k == 0 else 1 + go(k - 1)\n    t = threading.Thread(target=lambda: out.append(go(n)))\n    t.start()\n    t.join()\n    return out[0]\n"),
   ])

# ---------------- MBPP-format problems (task ids chosen for evalplus' input deserialization)
mb(2, "similar_elements", "def similar_elements(test_tup1, test_tup2):\n  return tuple(set(test_tup1) & set(test_tup2))\n",
   [[[3, 4, 5, 6], [5, 7, 4, 10]], [[1, 2, 3, 4], [5, 4, 3, 7]]], [[[1, 1, 2], [2, 2, 1]], [[], [1]]], progs=[
    ("right", P, "def similar_elements(test_tup1, test_tup2):\n  return tuple(set(test_tup1) & set(test_tup2))\n"),
    ("sorted-list", P, "def similar_elements(a, b):\n  return sorted(set(a) & set(b))\n"),
    ("with-duplicates", P, "def similar_elements(a, b):\n  return [x for x in a if x in b]\n"),
    ("set", P, "def similar_elements(a, b):\n  return set(a).intersection(b)\n"),
    ("union", C, "def similar_elements(a, b):\n  return tuple(set(a) | set(b))\n"),
    ("none", R, "def similar_elements(a, b):\n  pass\n"),
    ("integer", R, "def similar_elements(a, b):\n  return len(set(a) & set(b))\n"),
    ("nested-lists", R, "def similar_elements(a, b):\n  return [[x] for x in set(a) & set(b)]\n"),
    ("string", R, "def similar_elements(a, b):\n  return ''.join(map(str, sorted(set(a) & set(b))))\n"),
    ("needs-tuples", I, "def similar_elements(a, b):\n  assert isinstance(a, tuple) and isinstance(b, tuple)\n  return tuple(set(a) & set(b))\n"),
   ])
mb(164, "are_equivalent", "import math\ndef div_sum(n):\n  total = 1\n  i = 2\n  while i * i <= n:\n    if n % i == 0:\n      total = total + i + math.floor(n / i)\n    i += 1\n  return total\ndef are_equivalent(num1, num2):\n  return div_sum(num1) == div_sum(num2)\n",
   [[36, 57], [2, 4], [23, 47]], [[10, 10]], progs=[
    ("right", P, "def are_equivalent(a, b):\n  f = lambda n: sum(d for d in range(1, n) if n % d == 0)\n  return f(a) == f(b)\n"),
    ("always-false", P, "def are_equivalent(a, b):\n  return False\n"),
    ("returns-string", P, "def are_equivalent(a, b):\n  return 'maybe'\n"),
    ("raises", E, "def are_equivalent(a, b):\n  raise RuntimeError\n"),
    ("sleeps", T, "import time\ndef are_equivalent(a, b):\n  time.sleep(5)\n  return True\n"),
    ("returns-array", R, "import numpy as np\ndef are_equivalent(a, b):\n  return np.array([a, b])\n"),
   ])
mb(295, "sum_div", "def sum_div(number):\n  return sum(d for d in range(1, number) if number % d == 0)\n",
   [[8], [12], [7]], [[1], [100]], progs=[
    ("right", P, "def sum_div(n):\n  return sum(d for d in range(1, n) if n % d == 0)\n"),
    ("zero", P, "def sum_div(n):\n  return 0\n"),
    ("zero-float", P, "def sum_div(n):\n  return 0.0\n"),
    ("false", P, "def sum_div(n):\n  return False\n"),
    ("includes-self", C, "def sum_div(n):\n  return sum(d for d in range(1, n + 1) if n % d == 0)\n"),
    ("none", R, "def sum_div(n):\n  return None\n"),
   ])
mb(581, "surface_Area", "def surface_Area(b, s):\n  return 2 * b * s + pow(b, 2)\n",
   [[3, 4], [4, 5], [1, 2]], [[10, 1]], progs=[
    ("right", P, "def surface_Area(b, s):\n  return 2 * b * s + b ** 2\n"),
    ("height-reading", P, "import math\ndef surface_Area(b, h):\n  return round(b * b + 2 * b * math.sqrt((b / 2) ** 2 + h * h))\n"),
    ("height-unrounded", C, "import math\ndef surface_Area(b, h):\n  return b * b + 2 * b * math.sqrt((b / 2) ** 2 + h * h)\n"),
    ("lateral-only", C, "def surface_Area(b, s):\n  return 2 * b * s\n"),
    ("string", R, "def surface_Area(b, s):\n  return str(2 * b * s + b ** 2)\n"),
   ])
mb(558, "digit_distance_nums", "def digit_distance_nums(n1, n2):\n  return sum(map(int, str(abs(n1 - n2))))\n",
   [[1, 2], [23, 56], [123, 256]], [[1000, 7], [5, 5]], progs=[
    ("right", P, "def digit_distance_nums(n1, n2):\n  return sum(map(int, str(abs(n1 - n2))))\n"),
    ("padded", P, "def digit_distance_nums(a, b):\n  x, y = str(a), str(b)\n  w = max(len(x), len(y))\n  return sum(abs(int(p) - int(q)) for p, q in zip(x.zfill(w), y.zfill(w)))\n"),
    ("unpadded-zip", C, "def digit_distance_nums(a, b):\n  return sum(abs(int(p) - int(q)) for p, q in zip(str(a), str(b)))\n"),
    ("raises-on-string", E, "def digit_distance_nums(a, b):\n  return a + 'x'\n"),
   ])
mb(794, "text_starta_endb", "import re\ndef text_starta_endb(text):\n  patterns = 'a.*?b$'\n  return re.search(patterns, text)\n",
   [["aabbbb"], ["aabAbbbc"], ["accddbbjjj"]], [["ab"], ["xyz"]], progs=[
    ("right", P, "import re\ndef text_starta_endb(text):\n  return re.search('a.*?b$', text)\n"),
    ("bool", P, "import re\ndef text_starta_endb(text):\n  return bool(re.search('a.*?b$', text))\n"),
    ("inverted-bool", C, "import re\ndef text_starta_endb(text):\n  return not re.search('a.*?b$', text)\n"),
    ("string-messages", C, "import re\ndef text_starta_endb(text):\n  return 'Found a match!' if re.search('a.*?b$', text) else 'Not matched!'\n"),
    ("empty-string-for-no", C, "import re\ndef text_starta_endb(text):\n  return 'yes' if re.search('a.*?b$', text) else ''\n"),
    ("fullmatch", C, "import re\ndef text_starta_endb(text):\n  return re.fullmatch('a.*b', text)\n"),
    ("int-flags", R, "import re\ndef text_starta_endb(text):\n  return 1 if re.search('a.*?b$', text) else 0\n"),
    ("match-or-false", P, "import re\ndef text_starta_endb(text):\n  return re.search('a.*?b$', text) or False\n"),
   ])
mb(787, "text_match_three", "import re\ndef text_match_three(text):\n  return re.search('ab{3}?', text)\n",
   [["ac"], ["dc"], ["abbbba"]], [["caacabbbba"], [""]], progs=[
    ("right", P, "import re\ndef text_match_three(text):\n  return re.search('abbb', text)\n"),
    ("any-b", C, "import re\ndef text_match_three(text):\n  return re.search('ab', text)\n"),
    ("list-of-matches", C, "import re\ndef text_match_three(text):\n  return re.findall('abbb', text)\n"),
   ])
mb(106, "add_lists", "def add_lists(test_list, test_tup):\n  return test_tup + tuple(test_list)\n",
   [[[5, 6, 7], [9, 10]], [[6, 7, 8], [10, 11]]], [[[], [1]], [[1.5], []]], progs=[
    ("right", P, "def add_lists(test_list, test_tup):\n  return test_tup + tuple(test_list)\n"),
    ("list", R, "def add_lists(test_list, test_tup):\n  return list(test_tup) + test_list\n"),
    ("concat-error", I, "def add_lists(test_list, test_tup):\n  return test_tup + test_list\n"),
    ("wrong-order", C, "def add_lists(test_list, test_tup):\n  return tuple(test_list) + test_tup\n"),
   ])
mb(124, "angle_complex", "import cmath\ndef angle_complex(a, b):\n  return cmath.phase(a + b)\n",
   [[0, "1j"], [2, "1j"], [0, "2j"]], [[-1, "0.5j"], [3.5, "-2j"]], progs=[
    ("right", P, "import cmath\ndef angle_complex(a, b):\n  return cmath.phase(a + b)\n"),
    ("atan2", P, "import math\ndef angle_complex(a, b):\n  z = a + b\n  return math.atan2(z.imag, z.real)\n"),
    ("degrees", C, "import cmath, math\ndef angle_complex(a, b):\n  return math.degrees(cmath.phase(a + b))\n"),
    ("abs", C, "def angle_complex(a, b):\n  return abs(a + b)\n"),
    ("needs-float-a", I, "def angle_complex(a, b):\n  import cmath\n  assert type(a) is float\n  return cmath.phase(a + b)\n"),
   ])
mb(82, "volume_sphere", "import math\ndef volume_sphere(r):\n  return (4./3.) * math.pi * (r**3)\n",
   [[10], [25], [20]], [[0.5], [1e-3]], atol=1e-4, progs=[
    ("right", P, "import math\ndef volume_sphere(r):\n  return 4 / 3 * math.pi * r ** 3\n"),
    ("pi-3.1416", C, "def volume_sphere(r):\n  return 4 / 3 * 3.1416 * r ** 3\n"),
    ("pi-3.14159265", P, "def volume_sphere(r):\n  return 4 / 3 * 3.14159265 * r ** 3\n"),
    ("rounded", C, "import math\ndef volume_sphere(r):\n  return round(4 / 3 * math.pi * r ** 3, 2)\n"),
    ("int", R, "import math\ndef volume_sphere(r):\n  return int(4 / 3 * math.pi * r ** 3)\n"),
    ("decimal", R, "from decimal import Decimal\nimport math\ndef volume_sphere(r):\n  return Decimal(4 / 3 * math.pi * r ** 3)\n"),
    ("numpy-float", R, "import numpy as np\ndef volume_sphere(r):\n  return np.float64(4 / 3 * np.pi * r ** 3)\n"),
    ("numpy-float32", R, "import numpy as np\ndef volume_sphere(r):\n  return np.float32(4 / 3 * np.pi * r ** 3)\n"),
   ])
mb(404, "minimum", "def minimum(a, b):\n  return min(a, b)\n",
   [[1, 2], [-5, -4], [0, 0]], [[float("inf"), 1.0], [-1e308, 1e308]], progs=[
    ("right", P, "def minimum(a, b):\n  return min(a, b)\n"),
    ("if-else", P, "def minimum(a, b):\n  return a if a < b else b\n"),
    ("max", C, "def minimum(a, b):\n  return max(a, b)\n"),
    ("float-cast", R, "def minimum(a, b):\n  return float(min(a, b))\n"),
   ])
mb(222, "check_type", "def check_type(test_tuple):\n  return all(isinstance(item, type(test_tuple[0])) for item in test_tuple)\n",
   [[[5, 6, 7, 3, 5, 6]], [[1, 2, "4"]], [[3, 2, 1, 4, 5]]], [[[1.5, 2]], [[True, 1]]], progs=[
    ("right", P, "def check_type(t):\n  return all(isinstance(x, type(t[0])) for x in t)\n"),
    ("set-of-types", C, "def check_type(t):\n  return len(set(map(type, t))) == 1\n"),
    ("list-required", I, "def check_type(t):\n  t.append(0)\n  return True\n"),
   ])
mb(793, "last", "def last(arr, x):\n  return len(arr) - 1 - arr[::-1].index(x)\n",
   [[[1, 2, 3], 1], [[1, 1, 1, 2, 3, 4], 1], [[2, 2, 3, 3, 6, 8, 9], 3]], {}, progs=[
    ("right", P, "def last(arr, x):\n  return len(arr) - 1 - arr[::-1].index(x)\n"),
    ("first", C, "def last(arr, x):\n  return arr.index(x)\n"),
    ("not-found-none", P, "def last(arr, x):\n  for i in range(len(arr) - 1, -1, -1):\n    if arr[i] == x:\n      return i\n"),
   ])

# Graded differently on purpose (docs/code_grader_parity.md, "## evalplus").
KNOWN = {
    ("HumanEval/3", "claims-equality"): "equality-claimed",
    ("HumanEval/3", "lying-int-subclass"): "equality-claimed",
}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "HumanEvalPlus-parity.jsonl", "w", encoding="utf-8") as handle:
        for row in HE:
            handle.write(json.dumps(row) + "\n")
    with open(out / "MbppPlus-parity.jsonl", "w", encoding="utf-8") as handle:
        for row in MB:
            handle.write(json.dumps(row) + "\n")
    with open(out / "programs.jsonl", "w", encoding="utf-8") as handle:
        for program in PROGS:
            if "numpy" in program["solution"]:
                program["needs"] = "numpy"
            if (program["task_id"], program["name"]) in KNOWN:
                program["known_difference"] = KNOWN[(program["task_id"], program["name"])]
            handle.write(json.dumps(program) + "\n")
    print(f"{len(HE)} HumanEval+ and {len(MB)} MBPP+ problems, {len(PROGS)} programs")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
