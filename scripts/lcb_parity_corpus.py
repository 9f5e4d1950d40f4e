"""The corpus of the LiveCodeBench parity study (scripts/lcb_parity.py): (problem, program) pairs
written to probe where a reimplementation of LCB's `run_test` can differ from it -- how input is
read, how output and returned values are compared, which modules exist, errors, exits and
timeouts. Standard library only: scripts/lcb_parity.py imports it, and so may the tests.

    build_corpus() -> [{"id", "group", "func_name", "tests": [{"input", "output"}], "timeout",
                        "program", "note"}]

Each program is written on purpose, right or wrong; the study records what the original
harness decides for it, not what it should decide. Ids are stable (the golden verdicts in
tests/golden/lcb_parity.json are keyed by them).
"""

from __future__ import annotations

# ------------------------------------------------------------------ problems

# n, then n integers: print their sum. The last test has no final newline.
SUM = [{"input": "3\n1 2 3\n", "output": "6\n"}, {"input": "2\n10 -4\n", "output": "6\n"},
       {"input": "1\n7", "output": "7"}]
# k lines of words: print each line reversed word by word.
LINES = [{"input": "2\na b c\nd e\n", "output": "c b a\ne d\n"}, {"input": "1\nx y", "output": "y x\n"}]
# No input: print one fixed answer (the comparison groups vary what is printed).
HALF = [{"input": "", "output": "0.5\n"}]
# Call-based: add(a, b) -> a + b; half(a) -> a / 2 as LCB JSON literals.
ADD = [{"input": "1\n2", "output": "3"}, {"input": "-5\n5", "output": "0"}]


def _stdin(pair_id: str, program: str, note: str, tests=SUM, timeout: int = 6, group: str = "input") -> dict:
    return {"id": pair_id, "group": group, "func_name": None, "tests": tests, "timeout": timeout,
            "program": program.strip("\n") + "\n", "note": note}


def _call(pair_id: str, program: str, note: str, tests=ADD, func_name: str = "add", timeout: int = 6,
          group: str = "return") -> dict:
    return {"id": pair_id, "group": group, "func_name": func_name, "tests": tests, "timeout": timeout,
            "program": program.strip("\n") + "\n", "note": note}


# ------------------------------------------------------------------ input: how a program reads stdin

_SUM_BODY = "print(sum(int(x) for x in data[1:1 + int(data[0])]))"

INPUT = [
    _stdin("input/input", "n = int(input())\nprint(sum(map(int, input().split())))", "input()"),
    _stdin("input/sys-stdin-readline", "import sys\nn = int(sys.stdin.readline())\n"
           "print(sum(map(int, sys.stdin.readline().split())))", "sys.stdin.readline() (the StringIO)"),
    _stdin("input/alias-sys-stdin-readline", "import sys\ninput = sys.stdin.readline\nn = int(input())\n"
           "print(sum(map(int, input().split())))", "input = sys.stdin.readline, bound inside the wrapper"),
    _stdin("input/from-sys-stdin-readline", "from sys import stdin\nn = int(stdin.readline())\n"
           "print(sum(map(int, stdin.readline().split())))", "from sys import stdin: the patched readline"),
    _stdin("input/from-sys-stdin-read", "from sys import stdin\ndata = stdin.read().split()\n" + _SUM_BODY,
           "from sys import stdin: the patched read"),
    _stdin("input/from-sys-stdin-readlines", "from sys import stdin\nlines = stdin.readlines()\n"
           "print(sum(map(int, lines[1].split())))", "from sys import stdin: the patched readlines"),
    _stdin("input/from-sys-stdin-alias", "from sys import stdin\ninput = stdin.readline\nn = int(input())\n"
           "print(sum(map(int, input().split())))", "input = stdin.readline on the original object"),
    _stdin("input/from-sys-stdin-iterate", "from sys import stdin\nlines = [line for line in stdin]\n"
           "print(sum(map(int, lines[1].split())))", "iterating the original stdin is not patched"),
    _stdin("input/from-sys-stdin-chop", "from sys import stdin\nn = int(stdin.readline()[:-1])\n"
           "print(sum(map(int, stdin.readline()[:-1].split())))",
           "chopping the last character: LCB's readline has no newline to chop"),
    _stdin("input/from-sys-stdin-rstrip", "from sys import stdin\nn = int(stdin.readline().rstrip())\n"
           "print(sum(map(int, stdin.readline().rstrip().split())))", "rstrip() is safe either way"),
    _stdin("input/from-sys-stdin-read-twice", "from sys import stdin\nfirst = stdin.read()\n"
           "data = stdin.read().split()\n" + _SUM_BODY,
           "the patched read returns the whole input at every call (a file: '' the second time)"),
    _stdin("input/from-sys-stdin-readline-past-end", "from sys import stdin\nn = int(stdin.readline())\n"
           "xs = stdin.readline()\nrest = stdin.readline()\nmore = stdin.readline()\nprint(sum(map(int, xs.split())))",
           "readline past the end: StopIteration on the last test (no final newline)"),
    _stdin("input/sys-stdin-readline-past-end", "import sys\nn = int(sys.stdin.readline())\n"
           "xs = sys.stdin.readline()\nrest = sys.stdin.readline()\nmore = sys.stdin.readline()\n"
           "print(sum(map(int, xs.split())))", "the StringIO's readline gives '' past the end"),
    _stdin("input/prelude-stdin-name", "n = int(stdin.readline())\nprint(sum(map(int, stdin.readline().split())))",
           "`stdin` without importing it: bound by LCB's `from sys import *`"),
    _stdin("input/sys-stdin-read", "import sys\ndata = sys.stdin.read().split()\n" + _SUM_BODY, "sys.stdin.read()"),
    _stdin("input/sys-stdin-readlines", "import sys\nlines = sys.stdin.readlines()\n"
           "print(sum(map(int, lines[1].split())))", "sys.stdin.readlines()"),
    _stdin("input/sys-stdin-iterate", "import sys\nlines = list(sys.stdin)\nprint(sum(map(int, lines[1].split())))",
           "iterating sys.stdin (the StringIO)"),
    _stdin("input/open-0", "data = open(0).read().split()\n" + _SUM_BODY,
           "open(0): the real open (bound by the prelude) reads the empty process stdin"),
    _stdin("input/builtins-open-0", "import builtins\ndata = builtins.open(0).read().split()\n" + _SUM_BODY,
           "builtins.open: LCB's mock_open reads the test input"),
    _stdin("input/sys-stdin-buffer", "import sys\ndata = sys.stdin.buffer.read().split()\n" + _SUM_BODY,
           "sys.stdin.buffer: a StringIO has none"),
    _stdin("input/from-sys-stdin-buffer", "from sys import stdin\ndata = stdin.buffer.read().split()\n" + _SUM_BODY,
           "the original stdin's buffer: the empty process stdin"),
    _stdin("input/os-read-0", "import os\ndata = os.read(0, 1 << 20).split()\n" + _SUM_BODY,
           "os.read(0): the process's stdin, empty"),
    _stdin("input/fileinput", "import fileinput\ndata = ''.join(fileinput.input()).split()\n" + _SUM_BODY,
           "fileinput reads the files named in sys.argv[1:], else sys.stdin"),
    _stdin("input/main-guard", "import sys\ndef main():\n    n = int(input())\n    print(sum(map(int, input().split())))\n"
           "if __name__ == '__main__':\n    main()", "a final __main__ block is unwrapped"),
    _stdin("input/main-guard-double-quotes", 'def main():\n    n = int(input())\n    print(sum(map(int, input().split())))\n'
           'if __name__ == "__main__":\n    main()', "the unparsed condition uses single quotes: unwrapped too"),
    _stdin("input/main-guard-not-last", "def main():\n    n = int(input())\n    print(sum(map(int, input().split())))\n"
           "if __name__ == '__main__':\n    main()\nx = 1", "a __main__ block that is not last is kept"),
    _stdin("input/input-past-end", "n = int(input())\nxs = input()\nmore = input()\nprint(sum(map(int, xs.split())))",
           "input() past the end: EOFError"),
    _stdin("input/thread-joined", "import threading\ndef main():\n    n = int(input())\n"
           "    print(sum(map(int, input().split())))\nt = threading.Thread(target=main)\nt.start()\nt.join()",
           "a joined thread prints into the capture"),
    _stdin("input/lines-readlines", "import sys\nlines = sys.stdin.read().split('\\n')\nk = int(lines[0])\n"
           "for line in lines[1:1 + k]:\n    print(' '.join(reversed(line.split())))", "another problem", tests=LINES),
    _stdin("input/lines-from-stdin-readlines", "from sys import stdin\nlines = stdin.readlines()\nk = int(lines[0])\n"
           "for line in lines[1:1 + k]:\n    print(' '.join(reversed(line.split())))",
           "patched readlines: lines without newlines", tests=LINES),
    _stdin("input/lines-from-stdin-readline-loop", "from sys import stdin\nk = int(stdin.readline())\n"
           "for _ in range(k):\n    print(' '.join(reversed(stdin.readline().split())))", "patched readline in a loop",
           tests=LINES),
    _stdin("input/lines-from-stdin-readline-raw", "from sys import stdin\nk = int(stdin.readline())\n"
           "for _ in range(k):\n    line = stdin.readline()\n    print(' '.join(reversed(line.split(' '))), end='')",
           "keeps the line as read: without its newline, so the lines run together", tests=LINES),
]

# ------------------------------------------------------------------ output comparison

_PRINTED = [
    ("exact", "0.5"), ("trailing-zero", "0.50"), ("exponent", "5e-1"), ("exponent-upper", "5E-1"),
    ("leading-dot", ".5"), ("plus", "+0.5"), ("near", "0.5000001"), ("rounded-away", "0.49999999999999999"),
    ("text", "half"), ("fraction-text", "1/2"), ("comma", "0,5"), ("underscore", "0.5_0"),
    ("spaces-around", "   0.5   "), ("tab", "\\t0.5"), ("crlf", "0.5\\r"), ("two-tokens", "0.5 0"),
    ("blank-after", "0.5\\n\\n\\n"), ("blank-before", "\\n\\n0.5"), ("two-lines", "0.5\\n0.5"),
    ("nothing", ""), ("hex", "0x0.8"), ("percent", "50%"), ("nan", "NaN"), ("zero-minus", "-0.5"),
]
_PRINTED_INT = [("int-exact", "7", "7"), ("int-float", "7.0", "7"), ("int-exp", "7e0", "7"), ("int-minus-zero", "-0", "0"),
                ("int-leading-zeros", "007", "7"), ("int-underscore", "1_000", "1000"), ("inf", "inf", "Infinity"),
                ("nan-text", "nan", "nan"), ("snan", "sNaN", "sNaN"), ("words-case", "Yes", "YES"),
                ("words-exact", "Yes", "Yes"), ("multi-spaces", "1  2   3", "1 2 3"), ("multi-decimal", "1.0 2 3.00", "1 2.0 3"),
                ("multi-count", "1 2", "1 2 3"), ("big-int", "1" + "0" * 30, "1e30"),
                ("long-decimal", "0.1000000000000000055511151231257827", "0.1")]

OUTPUT = [_stdin(f"output/{name}", f"print(\"{text}\")", f"prints {text!r} for '0.5'", tests=HALF, group="output")
          for name, text in _PRINTED]
OUTPUT += [_stdin(f"output/{name}", f"print(\"{text}\")", f"prints {text!r} for {expected!r}",
                  tests=[{"input": "", "output": expected + "\n"}], group="output")
           for name, text, expected in _PRINTED_INT]
OUTPUT += [
    _stdin("output/print-end-empty", "print('0.5', end='')", "no final newline", tests=HALF, group="output"),
    _stdin("output/sys-stdout-write", "import sys\nsys.stdout.write('0.5\\n')", "sys.stdout: the capture",
           tests=HALF, group="output"),
    _stdin("output/from-sys-stdout-write", "from sys import stdout\nstdout.write('0.5\\n')",
           "stdout bound at load time: the real stdout, not captured", tests=HALF, group="output"),
    _stdin("output/prelude-stdout-name", "stdout.write('0.5\\n')", "`stdout` from the prelude's `from sys import *`",
           tests=HALF, group="output"),
    _stdin("output/os-write-1", "import os\nos.write(1, b'0.5\\n')", "file descriptor 1 is not the capture",
           tests=HALF, group="output"),
    _stdin("output/print-file-stderr", "import sys\nprint('debug', file=sys.stderr)\nprint('0.5')", "stderr ignored",
           tests=HALF, group="output"),
    _stdin("output/exit-after-print", "print('0.5')\nexit()", "exit() ends the test; the output so far counts",
           tests=HALF, group="output"),
    _stdin("output/sys-exit-before-print", "import sys\nsys.exit(0)\nprint('0.5')", "exit before printing",
           tests=HALF, group="output"),
    _stdin("output/stdout-close", "import sys\nprint('0.5')\nsys.stdout.close()",
           "LCB's capture has a one-argument close(): TypeError", tests=HALF, group="output"),
    _stdin("output/flush", "print('0.5', flush=True)", "flush=True", tests=HALF, group="output"),
]

# ------------------------------------------------------------------ returned values (call-based)

_SOLUTION = "class Solution:\n    def add(self, a: int, b: int) -> int:\n        return {}\n"
_RETURNS = [
    ("int", "a + b"), ("int-wrong", "a - b"), ("float-equal", "float(a + b)"), ("str", "str(a + b)"),
    ("tuple", "(a + b,)[0]"), ("bool-sum", "bool(a + b) if a + b in (0, 1) else a + b"),
    ("none", "None"), ("fraction", "__import__('fractions').Fraction(a + b)"),
    ("fraction-half", "__import__('fractions').Fraction(2 * (a + b), 2)"),
    ("decimal", "__import__('decimal').Decimal(a + b)"), ("complex", "complex(a + b, 0)"),
    ("numpy-int64", "__import__('numpy').int64(a + b)"), ("numpy-float64", "__import__('numpy').float64(a + b)"),
    ("numpy-array-1", "__import__('numpy').array([a + b])"), ("numpy-array-2", "__import__('numpy').array([a + b, 0])"),
    ("numpy-array-0d", "__import__('numpy').array(a + b)"), ("list-one", "[a + b]"),
    ("int-subclass", "type('MyInt', (int,), {})(a + b)"), ("float-rounding", "(a + b) * 0.1 * 10"),
]
RETURNS = [_call(f"return/{name}", _SOLUTION.format(expression), f"returns {expression}") for name, expression in _RETURNS]

_HALF_TESTS = [{"input": "1", "output": "0.5"}, {"input": "3", "output": "1.5"}]
_HALF_SOLUTION = "class Solution:\n    def half(self, a: int) -> float:\n        return {}\n"
_HALF_RETURNS = [
    ("float", "a / 2"), ("fraction", "__import__('fractions').Fraction(a, 2)"),
    ("decimal", "__import__('decimal').Decimal(a) / 2"), ("decimal-string", "__import__('decimal').Decimal(str(a / 2))"),
    ("numpy-float32", "__import__('numpy').float32(a) / 2"), ("numpy-array", "__import__('numpy').array([a / 2])"),
    ("floor", "a // 2"), ("string", "str(a / 2)"), ("round-string", "'%.1f' % (a / 2)"),
]
RETURNS += [_call(f"return/half-{name}", _HALF_SOLUTION.format(expression), f"returns {expression}",
                  tests=_HALF_TESTS, func_name="half") for name, expression in _HALF_RETURNS]

_THIRD_TESTS = [{"input": "1", "output": "0.3333333333333333"}]
RETURNS += [
    _call("return/third-float", "class Solution:\n    def third(self, a):\n        return a / 3\n", "a / 3",
          tests=_THIRD_TESTS, func_name="third"),
    _call("return/third-fraction", "from fractions import Fraction\nclass Solution:\n    def third(self, a):\n"
          "        return Fraction(a, 3)\n", "Fraction(1, 3) is not the float 1/3", tests=_THIRD_TESTS, func_name="third"),
    _call("return/third-round", "class Solution:\n    def third(self, a):\n        return round(a / 3, 6)\n",
          "no tolerance", tests=_THIRD_TESTS, func_name="third"),
]

_LIST_TESTS = [{"input": "[3, 1, 2]", "output": "[1, 2, 3]"}, {"input": "[]", "output": "[]"}]
_LIST_SOLUTION = "class Solution:\n    def sort(self, xs):\n        return {}\n"
_LIST_RETURNS = [
    ("sorted", "sorted(xs)"), ("tuple", "tuple(sorted(xs))"), ("set", "set(xs)"), ("reversed", "sorted(xs)[::-1]"),
    ("generator", "(x for x in sorted(xs))"), ("numpy-array", "__import__('numpy').sort(__import__('numpy').array(xs, dtype=int))"),
    ("numpy-list", "[__import__('numpy').int64(x) for x in sorted(xs)]"), ("deque", "__import__('collections').deque(sorted(xs))"),
    ("sort-in-place", "xs.sort()"), ("map", "list(map(int, sorted(xs)))"),
]
RETURNS += [_call(f"return/list-{name}", _LIST_SOLUTION.format(expression), f"returns {expression}",
                  tests=_LIST_TESTS, func_name="sort") for name, expression in _LIST_RETURNS]

_PAIR_TESTS = [{"input": "[1, 2]", "output": "[[1, 2], [2, 1]]"}]
RETURNS += [
    _call("return/nested-lists", "class Solution:\n    def pairs(self, xs):\n        return [xs, xs[::-1]]\n",
          "nested lists", tests=_PAIR_TESTS, func_name="pairs"),
    _call("return/nested-tuples", "class Solution:\n    def pairs(self, xs):\n        return [tuple(xs), tuple(xs[::-1])]\n",
          "only a top-level tuple becomes a list", tests=_PAIR_TESTS, func_name="pairs"),
    _call("return/outer-tuple", "class Solution:\n    def pairs(self, xs):\n        return (xs, xs[::-1])\n",
          "a top-level tuple of lists", tests=_PAIR_TESTS, func_name="pairs"),
    _call("return/bool-true", "class Solution:\n    def odd(self, a):\n        return a % 2 == 1\n", "a bool",
          tests=[{"input": "3", "output": "true"}, {"input": "4", "output": "false"}], func_name="odd"),
    _call("return/bool-as-int", "class Solution:\n    def odd(self, a):\n        return a % 2\n", "1 == True",
          tests=[{"input": "3", "output": "true"}, {"input": "4", "output": "false"}], func_name="odd"),
    _call("return/string", "class Solution:\n    def shout(self, s):\n        return s.upper()\n", "a string",
          tests=[{"input": "\"ab\"", "output": "\"AB\""}], func_name="shout"),
    _call("return/dict", "class Solution:\n    def count(self, s):\n        return {c: s.count(c) for c in s}\n",
          "a dict against a JSON object", tests=[{"input": "\"aab\"", "output": "{\"a\": 2, \"b\": 1}"}], func_name="count"),
    _call("return/always-equal", "class Anything:\n    def __eq__(self, other):\n        return True\n"
          "class Solution:\n    def add(self, a, b):\n        return Anything()\n",
          "an object equal to everything"),
    _call("return/big-int", "class Solution:\n    def power(self, a):\n        return 10 ** a\n", "a 5,000-digit int",
          tests=[{"input": "5000", "output": "1" + "0" * 5000}], func_name="power"),
    _call("return/function-not-class", "def add(a, b):\n    return a + b\n", "a plain function, no class Solution"),
    _call("return/method-missing", "class Solution:\n    def plus(self, a, b):\n        return a + b\n",
          "the method has another name"),
    _call("return/print-and-return", "class Solution:\n    def add(self, a, b):\n        print('adding')\n        return a + b\n",
          "prints as well"),
    _call("return/mutable-default", "class Solution:\n    def add(self, a, b, seen=[]):\n        seen.append(a)\n"
          "        return a + b + len(seen) - 1\n", "state kept across tests"),
    _call("return/numpy-import", "import numpy as np\nclass Solution:\n    def add(self, a, b):\n        return int(np.add(a, b))\n",
          "numpy imported at the top"),
]

# ------------------------------------------------------------------ modules and prelude

MODULES = [
    _stdin("modules/numpy", "import numpy as np\nn = int(input())\nprint(int(np.array(list(map(int, input().split()))).sum()))",
           "numpy", group="modules"),
    _stdin("modules/numpy-from", "from numpy import array\nn = int(input())\nprint(int(array(list(map(int, input().split()))).sum()))",
           "from numpy import", group="modules"),
    _stdin("modules/numpy-prelude-np", "n = int(input())\nprint(int(np.array(list(map(int, input().split()))).sum()))",
           "`np` without importing it (rllm's prelude has it)", group="modules"),
    _stdin("modules/pandas", "import pandas as pd\nn = int(input())\nprint(int(pd.Series(list(map(int, input().split()))).sum()))",
           "pandas", group="modules"),
    _stdin("modules/sortedcontainers", "from sortedcontainers import SortedList\nn = int(input())\n"
           "print(sum(SortedList(map(int, input().split()))))", "not installed in either", group="modules"),
    _stdin("modules/scipy", "import scipy\nn = int(input())\nprint(sum(map(int, input().split())))", "not installed",
           group="modules"),
    _stdin("modules/prelude-names", "n = int(input())\nprint(reduce(add, map(int, input().split())))",
           "reduce and add from LCB's star imports (rllm imports no `add`)", group="modules"),
    _stdin("modules/prelude-math-star", "n = int(input())\nxs = list(map(int, input().split()))\nprint(int(fsum(xs)))",
           "fsum from `from math import *`", group="modules"),
    _stdin("modules/prelude-pow", "n = int(input())\nprint(pow(sum(map(int, input().split())), 1))",
           "pow is the builtin again after `from builtins import *`", group="modules"),
    _stdin("modules/recursion-5000", "import sys\ndef depth(k):\n    return 0 if k == 0 else 1 + depth(k - 1)\n"
           "n = int(input())\nprint(sum(map(int, input().split())) + depth(5000) - 5000)",
           "5,000 deep: LCB raises the limit to 50,000", group="modules"),
    _stdin("modules/big-int-str", "n = int(input())\nbig = 10 ** 6000\nprint(sum(map(int, input().split())) + len(str(big)) - 6001)",
           "a 6,001-digit str(): LCB raises the digit limit", group="modules"),
    _stdin("modules/global-statement", "total = 0\ndef add(x):\n    global total\n    total += x\nn = int(input())\n"
           "for x in map(int, input().split()):\n    add(x)\nprint(total)", "`global` on a name the wrapper made local",
           group="modules"),
    _stdin("modules/class-solution-in-stdin", "class Solution:\n    pass\nn = int(input())\nprint(sum(map(int, input().split())))",
           "'class Solution' in a stdin program: LCB instantiates it", group="modules"),
    _stdin("modules/os-getcwd", "import os\nos.getcwd()\nn = int(input())\nprint(sum(map(int, input().split())))",
           "reliability_guard removed os.getcwd", group="modules"),
    _stdin("modules/os-environ-set", "import os\nos.environ['X'] = '1'\nn = int(input())\nprint(sum(map(int, input().split())))",
           "reliability_guard removed os.putenv", group="modules"),
    _stdin("modules/subprocess", "import subprocess\nsubprocess.run(['true'])\nn = int(input())\nprint(sum(map(int, input().split())))",
           "reliability_guard removed subprocess.Popen", group="modules"),
    _stdin("modules/quit", "n = int(input())\nprint(sum(map(int, input().split())))\nquit()", "quit is None", group="modules"),
    _stdin("modules/time-name", "import time\nt = time.time()\nn = int(input())\nprint(sum(map(int, input().split())))",
           "the time module over rllm's `from time import time`", group="modules"),
    _stdin("modules/time-prelude", "t = time()\nn = int(input())\nprint(sum(map(int, input().split())))",
           "time() unimported: rllm's prelude only", group="modules"),
]

# ------------------------------------------------------------------ errors

ERRORS = [
    _stdin("errors/syntax", "print(6", "syntax error", group="errors"),
    _stdin("errors/name", "print(undefined_name)", "NameError", group="errors"),
    _stdin("errors/zero-division", "n = int(input())\nprint(1 // 0)", "ZeroDivisionError", group="errors"),
    _stdin("errors/after-first-test", "n = int(input())\nxs = list(map(int, input().split()))\n"
           "print(sum(xs) if n != 2 else 1 // 0)", "fails on the second test", group="errors"),
    _stdin("errors/keyboard-interrupt", "raise KeyboardInterrupt", "a BaseException", group="errors"),
    _stdin("errors/system-exit-code", "import sys\nn = int(input())\nprint(sum(map(int, input().split())))\nsys.exit(3)",
           "exit code 3 after the answer", group="errors"),
    _stdin("errors/memory-100mb", "block = bytearray(100 * 1024 * 1024)\nn = int(input())\nprint(sum(map(int, input().split())))",
           "100 MB", group="errors"),
    _stdin("errors/top-level-raise-caught", "try:\n    raise ValueError('x')\nexcept ValueError:\n    pass\n"
           "n = int(input())\nprint(sum(map(int, input().split())))", "an exception handled", group="errors"),
    _call("errors/call-raise", "class Solution:\n    def add(self, a, b):\n        raise ValueError('no')\n", "raises",
          group="errors"),
    _call("errors/call-exit", "class Solution:\n    def add(self, a, b):\n        exit()\n", "exit() in a call",
          group="errors"),
    _call("errors/call-load-exit", "import sys\nsys.exit(0)\nclass Solution:\n    def add(self, a, b):\n        return a + b\n",
          "exit while loading", group="errors"),
    _call("errors/call-init-args", "class Solution:\n    def __init__(self, k):\n        self.k = k\n"
          "    def add(self, a, b):\n        return a + b\n", "Solution() cannot be built", group="errors"),
    _call("errors/call-input", "class Solution:\n    def add(self, a, b):\n        return a + b + len(input())\n",
          "input() in a call: EOF", group="errors"),
    _call("errors/call-syntax", "class Solution:\n    def add(self, a, b)\n        return a + b\n", "syntax error",
          group="errors"),
    _call("errors/call-recursion", "class Solution:\n    def add(self, a, b):\n        return self.add(a, b)\n",
          "infinite recursion", group="errors"),
    _call("errors/call-deep-recursion", "class Solution:\n    def add(self, a, b):\n        def depth(k):\n"
          "            return 0 if k == 0 else 1 + depth(k - 1)\n        return a + b + depth(3000) - 3000\n",
          "3,000 deep", group="errors"),
]

# ------------------------------------------------------------------ timeouts (1 s per test, to keep the study short)

_CATCH = ("try:\n    while True:\n        pass\nexcept Exception:\n    pass\n")
TIMEOUTS = [
    _stdin("timeout/loop", "while True:\n    pass", "runs forever", timeout=1, group="timeout"),
    _stdin("timeout/sleep-short", "import time\ntime.sleep(0.3)\nn = int(input())\nprint(sum(map(int, input().split())))",
           "0.3 s per test", timeout=1, group="timeout"),
    _stdin("timeout/sleep-per-test", "import time\ntime.sleep(0.7)\nn = int(input())\nprint(sum(map(int, input().split())))",
           "0.7 s per test, 2.1 s in all: the limit is per test", timeout=1, group="timeout"),
    _stdin("timeout/catch-then-answer", _CATCH + "n = int(input())\nprint(sum(map(int, input().split())))",
           "catches the timer, then answers", timeout=1, group="timeout"),
    _stdin("timeout/catch-then-loop", _CATCH + "while True:\n    pass", "catches the timer, then runs forever",
           timeout=1, group="timeout"),
    _stdin("timeout/catch-twice", _CATCH + _CATCH + "n = int(input())\nprint(sum(map(int, input().split())))",
           "waits for a second firing that never comes", timeout=1, group="timeout"),
    _stdin("timeout/catch-bare-except", "try:\n    while True:\n        pass\nexcept:\n    pass\n"
           "n = int(input())\nprint(sum(map(int, input().split())))", "bare except", timeout=1, group="timeout"),
    _stdin("timeout/sleep-caught", "import time\ntry:\n    time.sleep(5)\nexcept Exception:\n    pass\n"
           "n = int(input())\nprint(sum(map(int, input().split())))", "a caught sleep", timeout=1, group="timeout"),
    _call("timeout/call-loop", "class Solution:\n    def add(self, a, b):\n        while True:\n            pass\n",
          "runs forever", timeout=1, group="timeout"),
    _call("timeout/call-catch-then-answer", "class Solution:\n    def add(self, a, b):\n        try:\n"
          "            while True:\n                pass\n        except Exception:\n            pass\n        return a + b\n",
          "catches the timer, then returns the right value", timeout=1, group="timeout"),
    _call("timeout/call-load-loop", "while True:\n    pass\nclass Solution:\n    def add(self, a, b):\n        return a + b\n",
          "runs forever while loading", timeout=1, group="timeout"),
    _call("timeout/call-load-catch", "try:\n    while True:\n        pass\nexcept Exception:\n    pass\n"
          "class Solution:\n    def add(self, a, b):\n        return a + b\n", "catches the load timer", timeout=1,
          group="timeout"),
]


def build_corpus() -> list[dict]:
    pairs = INPUT + OUTPUT + RETURNS + MODULES + ERRORS + TIMEOUTS
    ids = [pair["id"] for pair in pairs]
    duplicates = {pair_id for pair_id in ids if ids.count(pair_id) > 1}
    if duplicates:
        raise ValueError(f"duplicate ids: {sorted(duplicates)}")
    return pairs
