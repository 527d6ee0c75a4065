"""Fixed numeric kernels: systems whose arithmetic goes through BLAS run in a child process that
chooses the same kernels on every x86-64 machine.

Why a child process. A learned system's training run sums floats in an order set by the kernel its
libraries pick for the processor: numpy's OpenBLAS (``SkylakeX`` on an AVX-512 machine, ``Haswell``
on an AVX2 one), numpy's own dispatched loops (AVX512F or AVX2), torch's ATen kernels
(``ATEN_CPU_CAPABILITY``) and MKL's GEMM. A different summation order changes the last bits of a
gradient, and a few epochs of training turn that into another model (spacy-sm-ft's hedge cues moved
from F1 0.614 to 0.629 between two machines). Each of these libraries reads its choice from the
environment *once, when it loads*, so a process that has imported numpy can no longer change it.
The child is started with the choices fixed (``PINNED``), runs systems' jobs one after another
(``Worker``: the imports are paid once), checks after each that every library took the choices
(``check_kernels``) and sends the predictions back.

What is fixed: the x86-64-v3 level (AVX2 and FMA), which every machine of the project's kind has;
anything wider (AVX-512) is switched off. One thread everywhere. BLIS, which thinc uses by default,
cannot be fixed (its kernel is chosen by CPU id and ignores ``BLIS_ARCH_TYPE``): the spaCy systems
run on thinc's ``NumpyOps(use_blis=False)`` and decode with a beam of one, so BLIS is left with one
job, spaCy's ``saxpy`` with alpha = 1 (``y += x``: an exact elementwise sum, identical on every
kernel). ``tests/systems/test_kernels.py`` checks both: identical bytes under different kernel
choices in the calling environment, and no BLIS product or dot ever called.

On another architecture (aarch64) nothing is pinned: the child runs with the libraries' own
choices and the board is reproduced only up to them (README, "Reproducing the board").
"""

from __future__ import annotations

import os
import pickle
import platform
import subprocess
import sys
import tempfile
import threading
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from crossclaim.errors import InputError
from crossclaim.formats.predictions import Predictions
from crossclaim.schema.records import Document
from crossclaim.systems.base import PairQuery, System, TrainingSet

# OpenBLAS's kernel family for AVX2 + FMA, torch's matching capability, MKL's conditional numerical
# reproducibility on the same level (strict: also across thread counts), oneDNN capped likewise.
PINNED: dict[str, str] = {
    "OPENBLAS_CORETYPE": "Haswell",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "AVX2,STRICT",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "OPENBLAS_L2_SIZE": "262144",  # OpenBLAS sizes some blocks by the L2 cache it detects: fixed too
}
# other kernel choices a caller may have made, dropped from the child's environment
UNSET = (
    "NPY_ENABLE_CPU_FEATURES",
    "NPY_DISABLE_CPU_FEATURES",
    "MKL_ENABLE_INSTRUCTIONS",
    "MKL_DEBUG_CPU_TYPE",
    "DNNL_MAX_CPU_ISA",
    "OPENBLAS_VERBOSE",
    "GOTO_NUM_THREADS",
    "OPENBLAS_DEFAULT_NUM_THREADS",
)
OPENBLAS_ARCHITECTURE = "Haswell"
TORCH_CAPABILITY = "AVX2"
# numpy's dispatch targets that the pinned level allows (numpy's baseline SSE..SSE3 is always on)
NUMPY_ALLOWED = frozenset({"SSSE3", "SSE41", "POPCNT", "SSE42", "AVX", "F16C", "FMA3", "AVX2"})
ENV_FLAG = "CROSSCLAIM_PINNED_KERNELS"  # set in the child: what it was started with


def cpu_flags() -> frozenset[str]:
    """The processor's own feature flags (``/proc/cpuinfo``), whatever the environment switched off
    in the libraries; empty where the file does not exist."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def pinnable() -> bool:
    """Whether this machine can run the pinned kernels: x86-64 with AVX2 and FMA."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    return {"avx2", "fma"} <= cpu_flags()


def _numpy_features() -> dict[str, bool]:
    from numpy._core import _multiarray_umath as umath  # the only place numpy lists its CPU dispatch

    return dict(umath.__cpu_features__)


def _numpy_dispatch() -> list[str]:
    from numpy._core import _multiarray_umath as umath

    return list(umath.__cpu_dispatch__)


def pinned_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: the caller's, with every kernel choice fixed (on x86-64 with AVX2).

    Whatever the caller chose is replaced, not merged: numpy switches off every dispatch target
    wider than the pinned level (a target the machine lacks is ignored by numpy) and no narrower
    one; choices the pinned set does not name are dropped (``UNSET``). ``PYTHONPATH`` carries the
    caller's import path, so a plug-in system importable here is importable there.
    """
    env = {k: v for k, v in environ.items() if k not in UNSET}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    if not pinnable():
        env[ENV_FLAG] = "0"
        return env
    wider = [f for f in _numpy_dispatch() if f not in NUMPY_ALLOWED]
    env |= PINNED | {"NPY_DISABLE_CPU_FEATURES": " ".join(wider), ENV_FLAG: "1"}
    return env


@dataclass(frozen=True)
class KernelReport:
    """What the libraries loaded in this process say they run on."""

    openblas: tuple[str, ...]  # architecture of every OpenBLAS threadpoolctl finds
    numpy_wider: tuple[str, ...]  # numpy dispatch targets beyond the pinned level still switched on
    torch: str | None  # torch's CPU capability, if torch is loaded
    blas_threads: tuple[int, ...]


def kernel_report() -> KernelReport:
    """Ask threadpoolctl, numpy and (if loaded) torch which kernels this process uses."""
    from threadpoolctl import threadpool_info

    info = threadpool_info()
    features = _numpy_features()
    torch = sys.modules.get("torch")
    return KernelReport(
        openblas=tuple(sorted({str(i.get("architecture")) for i in info if i.get("internal_api") == "openblas"})),
        numpy_wider=tuple(f for f in _numpy_dispatch() if f not in NUMPY_ALLOWED and features.get(f)),
        torch=None if torch is None else str(torch.backends.cpu.get_cpu_capability()),
        blas_threads=tuple(sorted({int(i.get("num_threads", 0)) for i in info})),
    )


def check_kernels(report: KernelReport) -> None:
    """Refuse to hand back predictions computed on kernels other than the pinned ones."""
    wrong = []
    if any(a != OPENBLAS_ARCHITECTURE for a in report.openblas):
        wrong.append(f"OpenBLAS runs {', '.join(report.openblas)} (pinned {OPENBLAS_ARCHITECTURE})")
    if report.numpy_wider:
        wrong.append(f"numpy dispatches {', '.join(report.numpy_wider)}")
    if report.torch is not None and report.torch != TORCH_CAPABILITY:
        wrong.append(f"torch runs {report.torch} (pinned {TORCH_CAPABILITY})")
    if any(n != 1 for n in report.blas_threads):
        wrong.append(f"BLAS runs {report.blas_threads} threads (pinned 1)")
    if wrong:
        raise RuntimeError("the pinned kernels did not take: " + "; ".join(wrong))


# ---------------------------------------------------------------------------------------------
# jobs: what a child runs


@dataclass(frozen=True)
class Job:
    """One run of a system: train on ``train`` (learned systems), then predict ``docs`` and ``queries``."""

    system: System
    train: TrainingSet | None
    docs: list[Document]
    queries: list[PairQuery]
    label: str  # for progress and errors: "crf: fold doc-001"


def run(job: Job) -> Predictions:
    """The job itself, in this process."""
    if job.train is not None:
        job.system.fit(job.train)
    return job.system.predict(job.docs, job.queries)


class Worker:
    """A child process with the pinned kernels that runs jobs one after another, so a run of many
    jobs pays the imports (torch, spaCy) once per child, not once per job.

    The protocol is pickles framed by their length, on the child's stdin and a private copy of its
    stdout (the child's own stdout is sent to stderr: a library that prints cannot break a frame).
    Its stderr goes to a temporary file, shown when the child dies.
    """

    def __init__(self) -> None:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as the child; closed in close())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crossclaim.systems.kernels"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=pinned_environment(os.environ),
        )

    def run(self, job: Job) -> Predictions:
        """The job's predictions; its errors come back as they were raised."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            _send(self.proc.stdin, job)
            status, value = _receive(self.proc.stdout)
        except (EOFError, BrokenPipeError):
            code = self.proc.wait()
            self.log.seek(0)
            tail = self.log.read().decode("utf-8", "replace")[-4000:]
            raise RuntimeError(f"{job.label}: its child process exited with code {code}:\n{tail}") from None
        if status == "ok":
            return value
        if status == "input":
            raise value
        raise RuntimeError(f"{job.label} failed in its child process:\n{value}")

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()
        self.log.close()


def _send(stream: BinaryIO, obj: object) -> None:
    data = pickle.dumps(obj, protocol=5)
    stream.write(len(data).to_bytes(8, "little") + data)
    stream.flush()


def _receive(stream: BinaryIO) -> object:
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    size = int.from_bytes(head, "little")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def run_jobs(jobs: list[Job], workers: int, done: Callable[[str], None] = lambda label: None) -> list[Predictions]:
    """Every job in pinned children, ``workers`` children each taking the next job when free;
    results in job order (so the output never depends on which child ran what, or when)."""
    pending = deque(enumerate(jobs))
    results: dict[int, Predictions] = {}
    lock = threading.Lock()

    def drain() -> None:
        worker = Worker()
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    k, job = pending.popleft()
                try:
                    results[k] = worker.run(job)
                except BaseException:
                    with lock:
                        pending.clear()  # the others stop after their current job
                    raise
                done(job.label)
        finally:
            worker.close()

    with ThreadPoolExecutor(max(1, min(workers, len(jobs)))) as pool:
        for future in [pool.submit(drain) for _ in range(min(max(1, workers), len(jobs)))]:
            future.result()
    return [results[k] for k in range(len(jobs))]


def main() -> None:
    """The child: run each framed ``Job`` that arrives on stdin, check the kernels, frame the result
    back, until stdin closes."""
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into a frame
    while True:
        try:
            job: Job = _receive(sys.stdin.buffer)
        except EOFError:
            return
        try:
            result = ("ok", run(job))
            if os.environ.get(ENV_FLAG) == "1":
                check_kernels(kernel_report())
        except InputError as exc:
            result = ("input", exc)
        except Exception:  # a crash goes back as text: the parent names the job and shows it
            result = ("crash", traceback.format_exc())
        _send(protocol, result)


if __name__ == "__main__":
    main()
