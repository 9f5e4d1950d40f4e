"""The test harness that runs INSIDE the sandbox: all tests of one program in one process.

Copied into the work directory as `main.py` by `repro.grading.code.check_program`, next to
`solution.py` (the program) and `tests.json` (mode, function name, inputs, per-test time
limits). Standard library only: it runs under the sandbox interpreter.

It never sees the expected outputs. For each test it reports what the program produced --
the captured stdout, or the returned value -- as one JSON line on a private copy of the
original stdout, and the parent (trusted) compares, so a program cannot grade itself. The
parent reads the lines as they come and kills the run at the first failing test.

How the program is loaded and called follows the benchmark's own harness, because that
decides which programs count as correct:
- "stdin" and "call": LiveCodeBench `lcb_runner/evaluation/testing_util.py` as of commit
  15808c7 (2025-01-17, current when the paper was evaluated): the program is wrapped in a
  function (stdin) or loaded under LCB's import prelude (call, LeetCode `class Solution`), stdin
  is a StringIO of the test input (and the original stdin's read functions are patched, as
  LCB's mock.patch order does), `open` a stand-in for LCB's mock reading it, LCB's
  `reliability_guard` disables the same functions, and the per-test timer fires once.
  Config "rules": "rllm" swaps in rllm's prelude (DeepCoder's copy of the same harness).
- "function": evalplus v0.3.1 `evalplus/eval/__init__.py`: exec the code, call the entry
  point, stdio swallowed, evalplus' `reliability_guard`.

Values travel with `encode_value`/`decode_value` (JSON with tags for tuples, sets, dicts with
any keys, big ints and complex numbers), which the parent imports from this module.
"""

import json
import os
import signal
import sys
import time
import types

# ------------------------------------------------------------------ value codec (both sides)


class Unencodable(Exception):
    pass


_SMALL_INT = 2**53
# numpy scalar kinds that travel with their type: bool, signed and unsigned int, float, complex.
_NUMPY_NUMBER_KINDS = "biufc"


def encode_value(value, depth=0):
    """A JSON-able form of a result that keeps the Python type (tuple vs list, set, key types)."""
    if depth > 200:
        raise Unencodable("nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, str, float):
        return value
    if kind is int:
        if -_SMALL_INT < value < _SMALL_INT:
            return value
        # Hexadecimal: Python limits decimal int<->str conversions (4300 digits), not hex.
        return {"$int": hex(value)}
    if kind is list:
        return [encode_value(item, depth + 1) for item in value]
    if kind is tuple:
        return {"$tuple": [encode_value(item, depth + 1) for item in value]}
    if kind in (set, frozenset):
        return {"$" + kind.__name__: [encode_value(item, depth + 1) for item in value]}
    if kind is dict:
        return {"$dict": [[encode_value(k, depth + 1), encode_value(v, depth + 1)] for k, v in value.items()]}
    if kind in (bytes, bytearray):
        import base64

        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if kind is complex:  # MBPP+ tasks 124 and 252 take complex arguments
        return {"$complex": [value.real, value.imag]}
    # Exact numbers of the standard library travel as themselves: LCB and evalplus compare the
    # returned object with `==` (Fraction(1, 2) == 0.5, Decimal("0.5") == 0.5). (Checked by
    # module and name, so that the harness never imports them itself.)
    if kind.__module__ == "fractions" and kind.__name__ == "Fraction":
        return {"$fraction": [encode_value(value.numerator, depth + 1), encode_value(value.denominator, depth + 1)]}
    if kind.__module__ == "decimal" and kind.__name__ == "Decimal":
        return {"$decimal": str(value)}
    # numpy scalars keep their type: both harnesses compare the object itself (evalplus' float
    # check requires type(out) == type(expected), and numpy 2 compares np.float32 with a Python
    # float in float32, NEP 50).
    if kind.__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        if value.dtype.kind in _NUMPY_NUMBER_KINDS:
            return {"$numpy": [value.dtype.str, encode_value(value.item(), depth + 1)]}
        return encode_value(value.item(), depth + 1)
    # numpy arrays keep their dtype: the parent compares them as LCB does (elementwise `==`,
    # then the truth of the result, which fails for more than one element).
    if kind.__module__ == "numpy" and kind.__name__ == "ndarray":
        return {"$ndarray": [value.dtype.str, encode_value(value.tolist(), depth + 1)]}
    # Subclasses of the basic types (an IntEnum, a defaultdict, a namedtuple) travel as their
    # base type, which is what == against the expected value sees.
    for base in (bool, int, float, str, list, tuple, dict, set, frozenset):
        if isinstance(value, base):
            return encode_value(base(value), depth + 1)
    raise Unencodable(f"a value of type {kind.__name__}")


def decode_value(data):
    if isinstance(data, list):
        return [decode_value(item) for item in data]
    if isinstance(data, dict):
        ((tag, payload),) = data.items()
        if tag == "$int":
            return int(payload, 16)
        if tag == "$tuple":
            return tuple(decode_value(item) for item in payload)
        if tag == "$set":
            return {decode_value(item) for item in payload}
        if tag == "$frozenset":
            return frozenset(decode_value(item) for item in payload)
        if tag == "$dict":
            return {decode_value(k): decode_value(v) for k, v in payload}
        if tag == "$bytes":
            import base64

            return base64.b64decode(payload)
        if tag == "$complex":
            return complex(payload[0], payload[1])
        if tag == "$fraction":
            from fractions import Fraction

            return Fraction(decode_value(payload[0]), decode_value(payload[1]))
        if tag == "$decimal":
            from decimal import Decimal

            return Decimal(payload)
        # numpy values: only results carry them, so only the parent (which has numpy) reads them.
        if tag == "$numpy":
            import numpy

            dtype = numpy.dtype(payload[0])
            if dtype.kind not in _NUMPY_NUMBER_KINDS:  # a forged line: nothing else is built here
                raise ValueError(f"not a numpy number type: {payload[0]!r}")
            return dtype.type(decode_value(payload[1]))
        if tag == "$ndarray":
            import numpy

            dtype = numpy.dtype(payload[0])
            if dtype.kind not in _NUMPY_NUMBER_KINDS + "SU":  # numbers and strings, as tolist() gave them
                raise ValueError(f"not a numpy array type: {payload[0]!r}")
            return numpy.array(decode_value(payload[1]), dtype=dtype)
        raise ValueError(f"unknown tag {tag!r}")
    return data


# ------------------------------------------------------------------ LiveCodeBench loading

# LCB's import prelude (`import_string` in testing_util.py): star imports in this order, then
# the plain module imports, then a recursion limit of 50,000. The order matters: `from
# builtins import *` restores the builtins shadowed by earlier star imports (e.g. math.pow).
_LCB_STAR_MODULES = ("string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random",
                     "statistics", "itertools", "functools", "operator", "io", "sys", "json", "builtins",
                     "typing")
_LCB_PLAIN_MODULES = ("string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random",
                      "statistics", "itertools", "functools", "operator", "io", "sys", "json")
LCB_PRELUDE = ("".join(f"from {name} import *\n" for name in _LCB_STAR_MODULES)
               + "".join(f"import {name}\n" for name in _LCB_PLAIN_MODULES)
               + "sys.setrecursionlimit(50000)\n")
# compute_code_generation_metrics.py raises the int<->str digit limit in the parent; the
# forked test process inherits it.
LCB_INT_MAX_STR_DIGITS = 50000

# rllm's copy of LCB's harness (DeepCoder's evaluation; rllm/rewards/code_utils/livecodebench.py
# at agentica-project/rllm aba20b14, 2025-04-08, the DeepCoder release) runs the same code
# with another prelude, `BASE_IMPORTS` of rllm/rewards/code_utils/utils.py: named imports
# instead of star imports (so no `from sys import *`, no `from builtins import *`), numpy and
# pandas imported in every program, and no raised recursion limit. Nor does rllm raise the
# int<->str digit limit. The statements below are those imports, in rllm's order (the
# order decides which binding of a repeated name wins).
_RLLM_IMPORTS = (
    "from itertools import accumulate, chain, combinations, count, permutations, product, groupby, islice, repeat",
    "from copy import deepcopy",
    "from string import ascii_lowercase, ascii_uppercase",
    "from math import floor, log2, log10, sqrt, comb, gcd, ceil, inf, isqrt, factorial, atan2, pi",
    "from collections import defaultdict, deque, Counter",
    "from bisect import bisect, bisect_left, bisect_right, insort",
    "from heapq import heappush, heappop, heapify, merge, nlargest, nsmallest, heapreplace",
    "from functools import reduce, cache, lru_cache, cmp_to_key",
    "from random import randrange, shuffle",
    "from operator import itemgetter, sub, xor, or_",
    "from re import search as re_search",
    "from os.path import commonprefix",
    "from typing import List, Tuple, Dict, Set, Optional, Union, Any, Callable, Iterable, Iterator, Generator, Deque",
    "import copy, string, math, collections, bisect, heapq, functools, random, itertools, operator, re, datetime",
    "from time import time",
    "import numpy as np",
    "import pandas as pd",
    "from math import log, prod",
    "from collections import deque, defaultdict, Counter, OrderedDict",
    "from itertools import accumulate, permutations, combinations, product, groupby, islice, chain, repeat, "
    "zip_longest, cycle, pairwise",
    "from functools import lru_cache, reduce, partial",
    "from operator import iand",
    "import sys",
    "import io, os",
)
RLLM_PRELUDE = "\n".join(_RLLM_IMPORTS) + "\n"
# The prelude of each harness's rules (config "rules"; only LCB's raise the digit limit, in main()).
PRELUDES = {"lcb": LCB_PRELUDE, "rllm": RLLM_PRELUDE}


def _unwrap_main_guard(code):
    """LCB `clean_if_name`: a final `if __name__ == '__main__':` block becomes top-level code."""
    import ast  # here, not at the top: only stdin programs pay its import time

    try:
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            return ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(last.body)
    except Exception:  # noqa: BLE001 - LCB keeps the code as it is on any failure
        pass
    return code


def _wrap_in_function(code, prelude):
    """LCB `make_function`: imports stay at top level, every other statement moves into
    `wrapped_function()`, which is called once per test. (So top-level names are locals of
    that function, and `global x` for one of them fails, as it does in LCB.)"""
    import ast

    try:
        tree = ast.parse(code)
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        others = [node for node in tree.body if not isinstance(node, (ast.Import, ast.ImportFrom))]
        function = ast.FunctionDef(name="wrapped_function",
                                   args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[],
                                                      defaults=[]),
                                   body=others, decorator_list=[], lineno=-1)
        return prelude + "\n" + ast.unparse(imports) + "\n" + ast.unparse(function)
    except Exception:  # noqa: BLE001 - LCB then executes the raw code
        return code


def _lcb_compile(code, timeout_s):
    """LCB `compile_code`: exec under the time limit; a LeetCode program is `Solution()`.
    (The check is a substring test on the code, as in LCB.)"""
    _arm(timeout_s)
    try:
        module = types.ModuleType("tmp_sol", "")
        exec(code, module.__dict__)
        return module.Solution() if "class Solution" in code else module
    finally:
        _disarm()


# ------------------------------------------------------------------ the benchmarks' guards

_OS_DISABLED = ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork", "forkpty",
                "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown", "chmod",
                "chown", "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir")


_MISSING = object()


def _reliability_guard(evalplus):
    """The functions that LCB's and evalplus' `reliability_guard` set to None before running a
    program (not a protection -- the sandbox is -- but programs using them fail there, so
    they fail here too). evalplus also removes `exit` and `open`. Returns the library
    functions it replaced, as (object, name, original), for `_PreloadedThere`."""
    import builtins
    import faulthandler
    import shutil
    import subprocess

    faulthandler.disable()
    builtins.quit = None
    if evalplus:
        builtins.exit = None
        builtins.open = None
    os.environ["OMP_NUM_THREADS"] = "1"
    replaced = [(os, name) for name in _OS_DISABLED] + [(shutil, "rmtree"), (shutil, "move"), (shutil, "chown"),
                                                         (subprocess, "Popen")]
    saved = [(owner, name, getattr(owner, name, _MISSING)) for owner, name in replaced]
    for owner, name in replaced:
        setattr(owner, name, None)
    builtins.help = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None
    return saved


# Modules that the original harness's test process has already loaded when its guard runs:
# LCB's testing_util.py imports numpy at its top; rllm's harness runs inside verl's process,
# which has numpy and pandas loaded (and rllm's prelude imports both in every program). A
# program's `import numpy` is then a mere lookup there, while here, after the guard, numpy's
# own start-up would fail (it sets os.environ, and the guard removed os.putenv). They are not
# imported in advance here (programs that do not use them must not pay for them): instead
# they load, when a program first imports them, with the replaced functions put back for the
# time of the load, so they load as they did there, before the guard.
PRELOADED_THERE = {"lcb": ("numpy",), "rllm": ("numpy", "pandas")}


class _PreloadedThere:
    """A meta path finder for those modules: finds them with the other finders, and wraps their
    loader so that creating and executing the module runs with the guard lifted."""

    def __init__(self, names, saved):
        self.names = frozenset(names)
        self.saved = saved
        self.depth = 0
        self.prefixes = tuple({os.path.join(prefix, "") for prefix in (sys.prefix, sys.base_prefix)})

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in self.names:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                # Only the installed module: a program's own numpy.py in its work folder loads
                # guarded, like any code of the program.
                installed = spec.origin is not None and spec.origin.startswith(self.prefixes)
                if installed and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _UnguardedLoader(spec.loader, self)
                return spec
        return None

    def lift(self):
        self.depth += 1
        if self.depth == 1:
            self.guarded = [(owner, name, getattr(owner, name, _MISSING)) for owner, name, _ in self.saved]
            for owner, name, original in self.saved:
                _set_or_delete(owner, name, original)

    def restore(self):
        self.depth -= 1
        if self.depth == 0:
            for owner, name, value in self.guarded:
                _set_or_delete(owner, name, value)


def _set_or_delete(owner, name, value):
    if value is _MISSING:
        if hasattr(owner, name):
            delattr(owner, name)
    else:
        setattr(owner, name, value)


class _UnguardedLoader:
    def __init__(self, loader, finder):
        self.loader = loader
        self.finder = finder

    def create_module(self, spec):
        self.finder.lift()  # an extension module initialises in create_module
        try:
            return self.loader.create_module(spec)
        finally:
            self.finder.restore()

    def exec_module(self, module):
        self.finder.lift()
        try:
            self.loader.exec_module(module)
        finally:
            self.finder.restore()

    def __getattr__(self, name):  # get_resource_reader, is_package, get_filename, ...
        return getattr(self.loader, name)


# Modules that evalplus' test process has imported before its guard runs (evalplus.evaluate
# imports numpy, multiprocessing and concurrent.futures.process): a program importing them gets
# them from sys.modules there, while importing them after the guard fails (numpy and
# multiprocessing call os.putenv, which the guard removed). So the evalplus harness imports
# them before the guard too, when the program's text names them (numpy costs ~150 ms).
_EVALPLUS_PRELOADED = {"numpy": "numpy", "multiprocessing": "multiprocessing",
                       "concurrent": "concurrent.futures.process"}


def _preload_like_evalplus(source):
    import importlib

    for word, module in _EVALPLUS_PRELOADED.items():
        if word in source:
            # One BLAS thread: a thread per core could hit the sandbox's process limit.
            os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
            try:
                importlib.import_module(module)
            except ImportError:
                pass  # not installed for this interpreter: the program's own import fails


def _raise_stack_limit(wanted):
    """evalplus' reliability_guard sets RLIMIT_STACK to its memory budget in the running test
    process: the main thread's stack may then grow far past 8 MiB (deep recursion through C
    calls, e.g. an lru_cache'd function), while threads keep the size fixed at start-up. The
    sandbox leaves room for this in the hard limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and target > soft:
        resource.setrlimit(resource.RLIMIT_STACK, (target, hard))


# ------------------------------------------------------------------ timing


class TimeoutException(Exception):
    """Raised by the per-test timer. An Exception, as in LCB: a bare `except Exception` in the
    program can swallow it."""


# What happens after the timer fired. LCB's alarm fires once per test and LCB never looks at
# the elapsed time, so a program that catches the timeout and then returns the right value
# passes there, late as it is: that is the default for LCB's rules ("fire-once"). evalplus,
# and LCB's rules under `strict_time`, re-arm the timer every 0.2 s until the test ends and
# fail a test that ran past its limit ("strict").
_timing = {"rearm_s": 0.2, "check_elapsed": True, "announce": False}
# LCB's (and rllm's) `timeout_handler` prints this before raising, to whatever sys.stdout is at
# that moment: during a stdin test, the capture. So a stdin program that catches the timeout and
# then prints the right answer has this extra line in its output, and fails there.
LCB_TIMEOUT_LINE = "timeout occured: alarm went off"


def _on_alarm(signum, frame):
    if _timing["rearm_s"]:
        signal.setitimer(signal.ITIMER_REAL, _timing["rearm_s"])
    if _timing["announce"]:
        print(LCB_TIMEOUT_LINE)
    raise TimeoutException("per-test time limit")


def _set_timing(strict, announce):
    _timing["rearm_s"] = 0.2 if strict else 0
    _timing["check_elapsed"] = strict
    _timing["announce"] = announce


def _late(seconds, limit):
    return _timing["check_elapsed"] and seconds > limit


def _arm(seconds):
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _disarm():
    signal.setitimer(signal.ITIMER_REAL, 0)


# ------------------------------------------------------------------ reporting


class Reporter:
    def __init__(self):
        # A private copy of the original stdout carries the results; the program's own writes
        # to file descriptor 1 go to stderr instead, so they can never be mistaken for one.
        self.fd = os.dup(1)
        os.dup2(2, 1)

    def send(self, **record):
        data = (json.dumps(record) + "\n").encode()
        while data:
            data = data[os.write(self.fd, data):]


class _StderrKeeper:
    """The program's sys.stderr: keeps the start for diagnostics, drops the rest (a chatty but
    correct program must not hit the output limit)."""

    def __init__(self, keep):
        self.keep = keep
        self.parts = []
        self.size = 0

    def write(self, text):
        if self.size < self.keep:
            self.parts.append(text[: self.keep - self.size])
            self.size += len(self.parts[-1])
        return len(text)

    def flush(self):
        pass

    def text(self):
        return "".join(self.parts)


def _describe(error):
    return f"{type(error).__name__}: {error}"[:300]


# ------------------------------------------------------------------ the three modes


class _FakeInputFile:
    """What `builtins.open(...)` returns during an LCB stdin test: LCB patches it with
    `mock_open(read_data=input)`, so any call reads the test input from its start, whatever the
    arguments, and other methods do nothing. (Note that LCB's prelude has already bound the
    real `open` into the program's globals via `from builtins import *`, so a plain `open(0)`
    in a program still reads the test process's empty stdin, there as here.)
    unittest.mock itself costs ~150 ms of start-up per program, hence this stand-in."""

    def __init__(self, text):
        self._lines = text.splitlines(keepends=True)
        self._position = 0

    def read(self, *args):
        rest = "".join(self._lines[self._position:])
        self._position = len(self._lines)
        return rest

    def readline(self, *args):
        if self._position >= len(self._lines):
            return ""
        self._position += 1
        return self._lines[self._position - 1]

    def readlines(self, *args):
        rest = self._lines[self._position:]
        self._position = len(self._lines)
        return rest

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class _OriginalStdinPatch:
    """LCB's `call_method` patches `sys.stdin.read`, `.readline` and `.readlines` BEFORE it
    replaces `sys.stdin` (mock.patch enters the decorators bottom-up), so the patches land on
    the interpreter's original stdin object, and `sys.stdin` itself becomes a plain StringIO.
    A name bound to the original at load time (`from sys import stdin`, or the prelude's
    `from sys import *`) therefore reads the test input through these functions, with their
    exact semantics: `readline()` gives the next line WITHOUT its newline and raises
    StopIteration past the end, `read()` the whole input at every call, `readlines()` the
    input split on newlines. Nothing else is patched: iterating over that object, or its
    `.buffer`, reads the process's real (empty) stdin, in LCB as here."""

    def __init__(self, original, text):
        self.original = original
        lines = iter(text.split("\n"))
        self.functions = {"read": lambda *args: text, "readline": lambda *args: next(lines),
                          "readlines": lambda *args: text.split("\n")}
        self.patched = []

    def __enter__(self):
        for name, function in self.functions.items():
            try:
                setattr(self.original, name, function)
                self.patched.append(name)
            except (AttributeError, TypeError):
                pass  # an object that takes no attributes: nothing to patch
        return self

    def __exit__(self, *exc):
        for name in self.patched:
            try:
                delattr(self.original, name)
            except AttributeError:
                pass
        return False


def _run_stdin(config, source, reporter):
    import builtins
    import io

    class Capture(io.StringIO):
        # LCB's Capturing replaces close() with a one-argument lambda: `sys.stdout.close()`
        # raises TypeError there, and so it does here.
        def close(self, _required):
            return 1

    timeouts = config["timeouts"]
    code = _wrap_in_function(_unwrap_main_guard(source), PRELUDES[config.get("rules", "lcb")])
    try:
        module = _lcb_compile(code, timeouts[0])
        function = module.wrapped_function
    except BaseException as error:  # noqa: BLE001
        reporter.send(event="load-failed", kind=_kind(error), detail=_describe(error))
        return
    reporter.send(event="loaded")
    real_open, real_stdin, real_stdout = builtins.open, sys.stdin, sys.stdout
    for index, text in enumerate(config["inputs"]):
        capture = Capture()
        started = time.monotonic()
        kind, detail = "ok", ""
        try:
            # LCB: the original stdin's read functions patched, then stdin a StringIO of the
            # input, open() a mock reading it, stdout captured.
            with _OriginalStdinPatch(real_stdin, text):
                builtins.open = lambda *args, _text=text, **kwargs: _FakeInputFile(_text)
                sys.stdin, sys.stdout = io.StringIO(text), capture
                _arm(timeouts[index])
                try:
                    function()
                except SystemExit:
                    pass  # LCB: exit() ends the test; what was printed so far is the output
                finally:
                    _disarm()
        except BaseException as error:  # noqa: BLE001
            kind, detail = _kind(error), _describe(error)
        finally:
            _disarm()
            builtins.open, sys.stdin, sys.stdout = real_open, real_stdin, real_stdout
        seconds = time.monotonic() - started
        if kind == "ok" and _late(seconds, timeouts[index]):
            kind, detail = "timeout", "the time limit passed (its timer was caught by the program)"
        if kind == "ok":
            reporter.send(event="test", index=index, kind="ok", value=capture.getvalue(), seconds=seconds)
        else:
            reporter.send(event="test", index=index, kind=kind, detail=detail, seconds=seconds)
            return


def _run_call(config, source, reporter):
    timeouts = config["timeouts"]
    code = PRELUDES[config.get("rules", "lcb")] + "\n\n" + source
    try:
        instance = _lcb_compile(code, timeouts[0])
        method = getattr(instance, config["func_name"])
        # LCB parses every input before running the first test: one JSON literal per line.
        arguments = [[json.loads(line) for line in text.split("\n")] for text in config["inputs"]]
    except BaseException as error:  # noqa: BLE001
        reporter.send(event="load-failed", kind=_kind(error), detail=_describe(error))
        return
    reporter.send(event="loaded")
    for index, args in enumerate(arguments):
        if not _call_and_report(reporter, index, lambda args=args: method(*args), timeouts[index],
                                tuple_to_list=True):
            return


def _run_function(config, source, reporter):
    namespace = {}
    started = time.monotonic()
    try:
        exec(source, namespace)  # not timed in evalplus either: its per-run deadline applies
        function = namespace[config["func_name"]]
        arguments = [decode_value(item) for item in config["inputs"]]
    except BaseException as error:  # noqa: BLE001
        reporter.send(event="load-failed", kind=_kind(error), detail=_describe(error))
        return
    # evalplus executes the program once for the base tests and once for the plus tests, each
    # time inside that run's deadline: the parent charges this time to both.
    reporter.send(event="loaded", seconds=time.monotonic() - started)
    def not_none(value):
        return value if isinstance(value, bool) else value is not None

    for index, args in enumerate(arguments):
        if config.get("not_none_only"):
            call = (lambda args=args: not_none(function(*args)))
        else:
            call = (lambda args=args: function(*args))
        if not _call_and_report(reporter, index, call, config["timeouts"][index], tuple_to_list=False):
            return


def _call_and_report(reporter, index, call, timeout_s, tuple_to_list):
    started = time.monotonic()
    _arm(timeout_s)
    try:
        value = call()
        _disarm()
    except BaseException as error:  # noqa: BLE001
        _disarm()
        reporter.send(event="test", index=index, kind=_kind(error), detail=_describe(error),
                      seconds=time.monotonic() - started)
        return False
    seconds = time.monotonic() - started
    if _late(seconds, timeout_s):
        reporter.send(event="test", index=index, kind="timeout", seconds=seconds,
                      detail="the time limit passed (its timer was caught by the program)")
        return False
    if tuple_to_list and isinstance(value, tuple):
        value = list(value)  # LCB: "don't penalize model if it produces tuples instead of lists"
    try:
        encoded = encode_value(value)
    except (Unencodable, RecursionError) as error:
        reporter.send(event="test", index=index, kind="unencodable", detail=str(error), seconds=seconds)
        return False
    reporter.send(event="test", index=index, kind="ok", value=encoded, seconds=seconds)
    return True


def _kind(error):
    return "timeout" if isinstance(error, TimeoutException) else "error"


class _Swallow:
    """evalplus `swallow_io` for the whole run: writes vanish, reading stdin raises."""

    def write(self, text):
        return len(text)

    def flush(self):
        pass

    def read(self, *args):
        raise OSError("stdin is not readable")

    readline = readlines = read


def main():
    reporter = Reporter()
    with open("tests.json") as handle:
        config = json.load(handle)
    with open("solution.py", encoding="utf-8", errors="replace") as handle:
        source = handle.read()
    mode = config["mode"]
    signal.signal(signal.SIGALRM, _on_alarm)
    keeper = _StderrKeeper(config.get("stderr_keep", 4096))
    lcb_rules = mode in ("stdin", "call") and config.get("rules", "lcb") == "lcb"
    if lcb_rules and hasattr(sys, "set_int_max_str_digits"):  # Python >= 3.11
        sys.set_int_max_str_digits(LCB_INT_MAX_STR_DIGITS)
    # LCB's and rllm's timer fires once; evalplus' (and a strict check) keeps firing.
    _set_timing(strict=mode == "function" or bool(config.get("strict_time")), announce=mode != "function")
    if mode == "function":
        _preload_like_evalplus(source)
        if config.get("stack_bytes"):
            _raise_stack_limit(config["stack_bytes"])  # before the guard hides `resource`
    saved = _reliability_guard(evalplus=mode == "function")
    if mode in ("stdin", "call"):
        sys.meta_path.insert(0, _PreloadedThere(PRELOADED_THERE[config.get("rules", "lcb")], saved))
    sys.stderr = keeper
    if mode == "stdin":
        _run_stdin(config, source, reporter)
    elif mode == "call":
        sys.stdout = _Swallow()
        _run_call(config, source, reporter)
    else:
        sys.stdout = sys.stdin = _Swallow()
        _run_function(config, source, reporter)
    reporter.send(event="done", stderr=keeper.text())
    # Like LCB's and evalplus' test process: leave without waiting for threads the program
    # started (multiprocessing ends its children with os._exit too).
    os._exit(0)


if __name__ == "__main__":
    main()
