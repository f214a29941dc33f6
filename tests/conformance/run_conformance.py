#!/usr/bin/env python3
"""ONNX backend node-test conformance of the emulator, through its own C API (librknnrt_emu.so via ctypes).

Covers every node test of the installed onnx wheel whose ops all appear in supported_ops.txt, at the opset the test
declares; tests whose tensors the RKNN ABI cannot carry are skipped and counted. Runs with EZRKNN_EMU_EXACT_FP32=1.
Each test runs in a worker process, so an emulator crash or hang fails that test only.

Exit status 0 only when the failures are exactly those of expected_failures.txt and, for a full run (no --filter
or --op), at least 98% of the covered, non-skipped tests pass.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import node_tests  # noqa: E402

EXPECTED_FAILURES_FILE = HERE / "expected_failures.txt"
TARGET_PASS_RATE = 98.0
PLACEHOLDER_REASON = "TODO: explain"


# --- worker processes ---------------------------------------------------------------------------------------------

def _worker_main(conn, library: str, log_path: str) -> None:
    """Loads the emulator once, then runs the tests it is sent until it receives None. Its stderr (the emulator's
    log, a crash report) goes to `log_path`, emptied before each test."""
    os.environ["EZRKNN_EMU_EXACT_FP32"] = "1"
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log_fd, 2)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    import emu_runner

    harness = emu_runner.EmulatorHarness(Path(library), Path(log_path).parent)
    while True:
        job = conn.recv()
        if job is None:
            return
        name, model, data_sets, n_inputs, outputs, pinned = job
        os.ftruncate(log_fd, 0)
        try:
            outcome = harness.run_test(Path(model), [Path(d) for d in data_sets], n_inputs, outputs, pinned)
            result = (outcome.passed, outcome.reason, outcome.detail)
        except Exception as e:  # noqa: BLE001 - a runner bug fails one test, not the run
            result = (False, f"runner error: {type(e).__name__}: {e}", traceback.format_exc())
        conn.send((name, result))


class Worker:
    def __init__(self, ctx, library: Path, log_path: Path):
        self.log_path = log_path
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, str(library), str(log_path)), daemon=True)
        self.process.start()
        child.close()
        self.test = None
        self.started = 0.0

    def send(self, test: node_tests.NodeTest) -> None:
        self.test = test
        self.started = time.monotonic()
        self.conn.send((test.name, str(test.model_path), [str(d) for d in test.data_sets()], test.n_inputs,
                        test.output_names, test.pinned))

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join("  " + line for line in text.splitlines()[-lines:])

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _death_reason(process) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"crashed (signal {signal.Signals(-code).name})"
        except ValueError:
            return f"crashed (signal {-code})"
    return f"crashed (worker exited with status {code})"


def run_tests(tests, library: Path, jobs: int, timeout: float):
    """Runs the tests on `jobs` workers; returns {name: (passed, reason, detail)}. A worker that dies or hangs is
    replaced, and the test it was running fails."""
    ctx = mp.get_context("fork")
    pending = list(reversed(tests))
    results = {}
    log_dir = Path(tempfile.mkdtemp(prefix="ezrknn-conformance-"))
    logs = [log_dir / f"worker{i}" / "stderr.log" for i in range(max(1, min(jobs, len(tests))))]
    for log in logs:
        log.parent.mkdir()  # also the worker's scratch folder
    workers = [Worker(ctx, library, log) for log in logs]
    try:
        for w in workers:
            if pending:
                w.send(pending.pop())
        while any(w.test is not None for w in workers):
            busy = [w for w in workers if w.test is not None]
            waitables = [w.conn for w in busy] + [w.process.sentinel for w in busy]
            ready = set(mpc.wait(waitables, timeout=1.0))
            now = time.monotonic()
            for i, w in enumerate(workers):
                if w.test is None:
                    continue
                finished = False
                if w.conn in ready:
                    try:
                        name, result = w.conn.recv()
                        results[name] = result
                        finished = True
                    except (EOFError, OSError):
                        pass
                died = w.process.sentinel in ready or w.conn in ready
                if not finished and (died or now - w.started > timeout):
                    if died:
                        w.process.join(timeout=10)  # it is exiting: reap it to learn the signal
                    if w.process.is_alive():
                        w.process.kill()
                        w.process.join()
                        reason = f"timed out after {timeout:.0f} s"
                    else:
                        reason = _death_reason(w.process)
                    results[w.test.name] = (False, reason, w.log_tail())
                    w = workers[i] = Worker(ctx, library, w.log_path)
                    finished = True
                if finished:
                    w.test = None
                    if pending:
                        w.send(pending.pop())
    finally:
        for w in workers:
            w.stop()
        shutil.rmtree(log_dir, ignore_errors=True)
    return results


# --- expected failures --------------------------------------------------------------------------------------------

def read_expected_failures(path: Path) -> dict[str, str]:
    expected = {}
    if not path.is_file():
        return expected
    for line in path.read_text().splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, _, reason = text.partition("#")
        expected[name.strip()] = reason.strip()
    return expected


def write_expected_failures(path: Path, failures: dict[str, str], old: dict[str, str], selected: set[str]) -> None:
    """Current failures of the selected tests, plus the listed entries of tests this run did not select."""
    entries = {name: reason for name, reason in old.items() if name not in selected}
    for name in failures:
        entries[name] = old.get(name) or PLACEHOLDER_REASON
    header = ("# Conformance tests that fail today: '<test_name>  # <one-line reason>'. They still count as failures\n"
              "# in the pass rate; a listed test that passes fails the run. Regenerate with\n"
              "# tests/conformance/run_conformance.py --write-expected-failures (reasons are kept).\n")
    body = "".join(f"{name}  # {entries[name]}\n" for name in sorted(entries))
    path.write_text(header + body)


# --- command line -------------------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", type=Path,
                   default=Path(os.environ.get("EZRKNN_BUILD_DIR", REPO / "build" / "release")),
                   help="build folder holding lib/librknnrt_emu.so (default: $EZRKNN_BUILD_DIR or build/release)")
    p.add_argument("--data-dir", type=Path, action="append", default=[], nargs="?",
                   const=node_tests.DEBIAN_NODE_DIR,
                   help="an extra folder of node tests (default when given without a value: Debian's "
                        f"libonnx-testdata, {node_tests.DEBIAN_NODE_DIR}); its tests are named '<source>:<test>'")
    p.add_argument("--filter", help="only tests whose name matches this regular expression (re.search)")
    p.add_argument("--op", action="append", default=[], help="only tests that use this operator (repeatable)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds one test may take")
    p.add_argument("--no-pin", action="store_true",
                   help="feed shape operands (Reshape shape, Slice starts, Resize sizes, ...) as inputs, as the "
                        "tests declare them, instead of pinning them as initializers")
    p.add_argument("--list", action="store_true", help="print the selected tests and exit")
    p.add_argument("--write-expected-failures", action="store_true",
                   help=f"rewrite {EXPECTED_FAILURES_FILE.name} with the current failures")
    p.add_argument("--expected-failures", type=Path, default=EXPECTED_FAILURES_FILE, help=argparse.SUPPRESS)
    p.add_argument("-v", "--verbose", action="store_true", help="show why each test failed in detail")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.monotonic()
    library = args.build_dir / "lib" / "librknnrt_emu.so"
    if not args.list and not library.is_file():
        print(f"error: {library} does not exist (build the rknnrt_emu target, or pass --build-dir)", file=sys.stderr)
        return 2
    sources = [node_tests.wheel_node_dir()] + [d for d in args.data_dir if d is not None]
    for d in sources:
        if not d.is_dir():
            print(f"error: node-test folder {d} does not exist", file=sys.stderr)
            return 2

    tests, not_covered = node_tests.discover(sources, node_tests.read_supported_ops())
    full_run = not args.filter and not args.op
    if args.filter:
        pattern = re.compile(args.filter)
        tests = [t for t in tests if pattern.search(t.name)]
    if args.op:
        tests = [t for t in tests if t.ops & set(args.op)]
    if args.no_pin:
        for t in tests:
            t.pinned = []
    runnable = [t for t in tests if t.skip_reason is None]
    n_pinned = sum(1 for t in runnable if t.pinned)
    skipped = [t for t in tests if t.skip_reason is not None]

    if args.list:
        for t in tests:
            note = f"  (skipped: {t.skip_reason})" if t.skip_reason else ""
            note += f"  (pinned inputs {t.pinned})" if t.pinned else ""
            print(f"{t.name}  opset {t.opset}  {' '.join(sorted(t.ops))}{note}")
        print(f"{len(runnable)} to run, {len(skipped)} skipped, {not_covered} not covered (ops outside the list)")
        return 0

    print(f"conformance: {len(runnable)} tests to run with {args.jobs} workers on {library} "
          f"({len(skipped)} skipped, {not_covered} not covered; {n_pinned} run with their shape operands pinned "
          "as initializers)", flush=True)
    results = run_tests(runnable, library, args.jobs, args.timeout)

    selected = {t.name for t in tests}
    failures = {name: r[1] for name, r in results.items() if not r[0]}
    passed = len(results) - len(failures)
    if args.write_expected_failures:
        write_expected_failures(args.expected_failures, failures, read_expected_failures(args.expected_failures),
                                selected)
        print(f"wrote {args.expected_failures} ({len(failures)} failures of this run)")
    expected = read_expected_failures(args.expected_failures)

    for name in sorted(failures):
        _, reason, detail = results[name]
        mark = " (expected)" if name in expected else ""
        print(f"FAIL {name}{mark}: {reason.splitlines()[0] if reason else ''}")
        if args.verbose and detail:
            print(detail.rstrip())

    problems = [f"unexpected failure: {name} (fix it, or list it in {args.expected_failures.name} with a reason)"
                for name in sorted(failures) if name not in expected]
    for name in sorted(expected):
        if name in results and results[name][0]:
            problems.append(f"stale expected failure: {name} now passes; remove it")
        elif name in selected and name not in results:
            problems.append(f"stale expected failure: {name} is skipped; remove it")
        elif name not in selected and full_run and not name.partition(":")[2]:
            problems.append(f"stale expected failure: {name} is not a covered test; remove it")

    total = passed + len(failures)
    rate = 100.0 * passed / total if total else 100.0
    if full_run and rate < TARGET_PASS_RATE:
        problems.append(f"pass rate {rate:.1f}% is below the target of {TARGET_PASS_RATE:.0f}%")
    print(f"---- conformance ({time.monotonic() - t0:.0f} s) ----")
    for p in problems:
        print(p)
    reasons = Counter(t.skip_reason for t in skipped)
    dtypes = Counter()
    for reason, n in reasons.items():
        if reason != node_tests.NON_TENSOR_IO:
            for d in reason.split(","):
                dtypes[d] += n
    skip_text = ", ".join(f"{d} {n}" for d, n in sorted(dtypes.items())) or "none"
    if reasons.get(node_tests.NON_TENSOR_IO):
        skip_text += f"; {node_tests.NON_TENSOR_IO}: {reasons[node_tests.NON_TENSOR_IO]}"
    listed = sum(1 for name in failures if name in expected)
    print(f"{passed} passed, {len(failures)} failed, {len(skipped)} skipped (unsupported dtypes: {skip_text})")
    print(f"pass rate {rate:.1f}% ({passed} of {total}; target {TARGET_PASS_RATE:.0f}%"
          f"{'' if full_run else ', not applied to a filtered run'}); {listed} of {len(failures)} failures are "
          f"listed as expected")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
