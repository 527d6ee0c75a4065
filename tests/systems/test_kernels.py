"""Fixed numeric kernels: a system's bytes do not depend on the kernels its caller's environment picks.

Each run is a fresh process with an empty model cache, as on a new machine. The kernel choices are
varied through the environment (OpenBLAS's core type, torch's CPU capability), and a probe in the
same environment shows that threadpoolctl and torch really report different kernels there.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crossclaim.systems.kernels import (
    OPENBLAS_ARCHITECTURE,
    PINNED,
    UNSET,
    KernelReport,
    check_kernels,
    pinnable,
    pinned_environment,
)

REPO = Path(__file__).resolve().parents[2]
CI = os.environ.get("CI") == "true"
CHOSEN = (*PINNED, *UNSET)
# the machine's own choice, and an older one every x86-64 machine with AVX can run
KERNEL_CHOICES = {
    "native": {},
    "older": {
        "OPENBLAS_CORETYPE": "Sandybridge",
        "OPENBLAS_L2_SIZE": "1048576",
        "ATEN_CPU_CAPABILITY": "default",
        "NPY_DISABLE_CPU_FEATURES": "FMA3 AVX2 AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL",
        "MKL_ENABLE_INSTRUCTIONS": "AVX",
    },
}
PROBE = (
    "import json, numpy, torch; from numpy._core._multiarray_umath import __cpu_features__ as f; "
    "from crossclaim.systems.kernels import kernel_report; "
    "r = kernel_report(); print(json.dumps([r.openblas, r.torch, f['AVX2'], r.numpy_wider]))"
)
SYSTEMS = ("crf", "sentence-logreg", "spacy-sm-ft", "minilm", "spacy-sm")

needs_x86 = pytest.mark.skipif(
    not pinnable(), reason="kernels are pinned on x86-64 with AVX2 and FMA only (README: Reproducing the board)"
)


def environment(choice: dict[str, str], cache: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CHOSEN}
    return env | choice | {"CROSSCLAIM_CACHE": str(cache)} | extra


def probe(env: dict[str, str]) -> list:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def canonical(obj: object) -> object:
    """A model's content, exactly, without what a pickle leaves to chance: set and dict order (string
    hashes change per process), object ids, and CRFsuite's training log (timings) and file names."""
    if isinstance(obj, np.ndarray):
        return ("array", obj.dtype.str, obj.shape, obj.tobytes())
    if isinstance(obj, float):
        return float.hex(obj)
    if obj is None or isinstance(obj, (bool, int, str, bytes, np.generic)):
        return repr(obj)
    if isinstance(obj, dict):
        return ("dict", sorted((repr(k), canonical(v)) for k, v in obj.items()))
    if isinstance(obj, (set, frozenset)):
        return ("set", sorted(repr(x) for x in obj))
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [canonical(x) for x in obj])
    if hasattr(obj, "modelfile"):  # sklearn_crfsuite.CRF: the trained model is the CRFsuite file
        return ("crfsuite", Path(obj.modelfile.name).read_bytes())
    if hasattr(obj, "__dict__"):  # scikit-learn's TfidfVectorizer keeps the id() of its stop-word list
        return (type(obj).__qualname__, canonical({k: v for k, v in vars(obj).items() if k != "_stop_words_id"}))
    return repr(obj)


def model_bytes(path: Path) -> bytes:
    """A cached model's bytes: a pickle (written by this project's own cache) by its content."""
    data = path.read_bytes()
    return repr(canonical(pickle.loads(data))).encode() if path.suffix == ".pickle" else data


def predict(system: str, env: dict[str, str], out: Path) -> subprocess.CompletedProcess:
    cli = "from crossclaim.cli import app; app()"
    return subprocess.run(
        [sys.executable, "-c", cli, "predict", system, "--split", "test", "-o", str(out), "--root", str(REPO)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_report_off_the_pinned_kernels_is_refused() -> None:
    check_kernels(KernelReport((OPENBLAS_ARCHITECTURE,), (), "AVX2", (1,)))
    for bad, words in [
        (KernelReport(("SkylakeX",), (), None, (1,)), "OpenBLAS runs SkylakeX"),
        (KernelReport((OPENBLAS_ARCHITECTURE,), ("AVX512F",), None, (1,)), "numpy dispatches AVX512F"),
        (KernelReport((OPENBLAS_ARCHITECTURE,), (), "AVX512", (1,)), "torch runs AVX512"),
        (KernelReport((OPENBLAS_ARCHITECTURE,), (), None, (2,)), "threads"),
    ]:
        with pytest.raises(RuntimeError, match=words):
            check_kernels(bad)


@needs_x86
def test_the_pinned_environment_wins_over_the_callers_choices(tmp_path: Path) -> None:
    reports = {}
    for name, choice in KERNEL_CHOICES.items():
        caller = environment(choice, tmp_path)
        outside = probe(caller)
        inside = probe(pinned_environment(caller))
        assert inside == [[OPENBLAS_ARCHITECTURE], "AVX2", True, []], inside
        reports[name] = outside
    assert all(reports["native"][k] != reports["older"][k] for k in range(3)), reports  # OpenBLAS, torch, numpy
    assert all(pinned_environment(os.environ)[k] == v for k, v in PINNED.items())


@needs_x86
@pytest.mark.parametrize("system", SYSTEMS)
def test_a_system_gives_the_same_bytes_under_other_kernels(system: str, tmp_path: Path) -> None:
    """Fresh processes, empty model caches, different kernels chosen by the caller: identical
    predictions and identical trained models, byte for byte. (The models are the sharper check: run
    in the caller's process, a model's last bits follow the kernels, though its predictions on the
    test split happen not to move on this corpus.)"""
    outputs, models = {}, {}
    for name, choice in KERNEL_CHOICES.items():
        cache = tmp_path / f"cache-{name}"
        result = predict(system, environment(choice, cache), tmp_path / f"{name}.jsonl")
        assert result.returncode == 0, result.stdout + result.stderr
        outputs[name] = (tmp_path / f"{name}.jsonl").read_bytes()
        models[name] = {str(f.relative_to(cache)): model_bytes(f) for f in sorted(cache.rglob("*")) if f.is_file()}
    assert outputs["native"] == outputs["older"]
    assert outputs["native"].count(b"\n") >= 2
    assert models["native"].keys() == models["older"].keys()
    assert [k for k in models["native"] if models["native"][k] != models["older"][k]] == []


# A stand-in for BLIS's entry points, put in front of BLIS with LD_PRELOAD (BLIS calls its own API
# through the PLT, so the stand-ins win): every product, dot and level-3 routine aborts; axpy is
# computed here, plainly, and aborts unless alpha is 1 (y += x is then exact on every kernel).
SHIM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
static long axpy_calls = 0;
static void refuse(const char *name) { fprintf(stderr, "BLIS-SHIM: %s called\n", name); fflush(stderr); abort(); }
#define REFUSE(name) void name(void) { refuse(#name); }
REFUSE(bli_sgemm_ex) REFUSE(bli_dgemm_ex) REFUSE(bli_gemm_ex) REFUSE(bli_sgemv_ex) REFUSE(bli_dgemv_ex)
REFUSE(bli_sger_ex) REFUSE(bli_dger_ex) REFUSE(bli_sdotv_ex) REFUSE(bli_ddotv_ex) REFUSE(bli_ddotxv_ex)
REFUSE(bli_hemm_ex) REFUSE(bli_herk_ex) REFUSE(bli_symm_ex) REFUSE(bli_syrk_ex) REFUSE(bli_trmm_ex)
REFUSE(bli_trsm_ex) REFUSE(bli_sscalv_ex) REFUSE(bli_dscalv_ex) REFUSE(bli_cscalv_ex) REFUSE(bli_zscalv_ex)
void bli_saxpyv_ex(int conj, int64_t n, float *alpha, float *x, int64_t incx, float *y, int64_t incy,
                   void *cntx, void *rntm) {
    if (*alpha != 1.0f) refuse("bli_saxpyv_ex with alpha != 1");
    for (int64_t i = 0; i < n; i++) y[i * incy] += x[i * incx];
    axpy_calls++;
}
void bli_daxpyv_ex(int conj, int64_t n, double *alpha, double *x, int64_t incx, double *y, int64_t incy,
                   void *cntx, void *rntm) {
    if (*alpha != 1.0) refuse("bli_daxpyv_ex with alpha != 1");
    for (int64_t i = 0; i < n; i++) y[i * incy] += x[i * incx];
    axpy_calls++;
}
__attribute__((destructor)) static void report(void) {
    const char *log = getenv("BLIS_SHIM_LOG");
    if (!log) return;
    FILE *f = fopen(log, "a");
    if (f) { fprintf(f, "%ld\n", axpy_calls); fclose(f); }
}
"""


@pytest.fixture(scope="module")
def blis_shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        if CI:
            pytest.fail("gcc is needed to build the BLIS stand-in")
        pytest.skip("gcc is needed to build the BLIS stand-in")
    folder = tmp_path_factory.mktemp("shim")
    (folder / "shim.c").write_text(SHIM)
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O0", "-o", str(folder / "shim.so"), str(folder / "shim.c")], check=True
    )
    return folder / "shim.so"


@needs_x86
def test_the_blis_stand_in_is_really_in_front_of_blis(blis_shim: Path, tmp_path: Path) -> None:
    """Control: a BLIS product under the stand-in aborts, so a run that finishes never multiplied in BLIS."""
    code = "import numpy, blis.py; blis.py.gemm(numpy.ones((2, 2), 'f'), numpy.ones((2, 2), 'f'))"
    env = environment({}, tmp_path, LD_PRELOAD=str(blis_shim))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "BLIS-SHIM: bli_sgemm_ex called" in result.stderr


@needs_x86
@pytest.mark.parametrize("system", ["spacy-sm-ft", "spacy-sm"])
def test_spacy_systems_never_multiply_in_blis(system: str, blis_shim: Path, tmp_path: Path) -> None:
    """Training and prediction run with BLIS's products replaced by aborts and its axpy by a plain
    ``y += x``: they finish, call axpy (the stand-in is live), and give the bytes of a run on BLIS."""
    log = tmp_path / "axpy.log"
    shimmed = environment({}, tmp_path / "cache-shim", LD_PRELOAD=str(blis_shim), BLIS_SHIM_LOG=str(log))
    result = predict(system, shimmed, tmp_path / "shim.jsonl")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sum(int(n) for n in log.read_text().split()) > 0
    plain = predict(system, environment({}, tmp_path / "cache-plain"), tmp_path / "plain.jsonl")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert (tmp_path / "shim.jsonl").read_bytes() == (tmp_path / "plain.jsonl").read_bytes()
