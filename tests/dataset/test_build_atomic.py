"""Build writes one atomic set: killed at any moment, the tree is entirely old or entirely new after the
next command; concurrent builds serialise; modes follow the umask; stale stages are removed.

The kill test runs real builds in subprocesses and SIGKILLs them (a) right before each file-system
mutation of the commit (every rename, exchange, unlink and removal issued by ``crossclaim.files``,
counted in the child) and (b) at random moments of a whole build.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import gold_spans, task, write_repo
from typer.testing import CliRunner

from crossclaim.cli import app
from crossclaim.files import JOURNAL, LOCK, WORK_DIR

runner = CliRunner()
OUTPUTS = (
    "dataset",
    "DATASHEET.md",
    "annotations/GUIDELINES.md",
    "annotations/studio/span_config.xml",
    "annotations/studio/pair_config.xml",
)
GUIDELINES = "# Guidelines\n<!-- BEGIN GENERATED: labels -->\nstale\n<!-- END GENERATED: labels -->\n"

# One child process imports the package and makes one complete build (which warms every lazy import),
# then forks a build per run and kills it with SIGKILL: either right before its N-th file-system
# mutation issued by crossclaim.files, or after a given share of the complete build's duration.
# Prints the complete build's mutation count, then each run's exit status (negative: the signal).
DRIVER = """
import json, os, shutil, signal, sys, time
from pathlib import Path
import crossclaim.files as files
from crossclaim.dataset.build import build

budget = 0
calls = 0

def counted(fn):
    def wrapper(*args, **kwargs):
        global calls
        if sys._getframe(1).f_code.co_filename == files.__file__:
            calls += 1
            if calls == budget:
                os.kill(os.getpid(), signal.SIGKILL)
        return fn(*args, **kwargs)
    return wrapper

for module, name in ((os, "replace"), (os, "rename"), (os, "unlink"), (shutil, "rmtree")):
    setattr(module, name, counted(getattr(module, name)))
files._exchange = counted(files._exchange)

warm, runs = json.loads(sys.argv[1])
build(Path(warm))
mutations = calls
began = time.perf_counter()
build(Path(warm))  # again, warm: how long a forked build takes
duration = time.perf_counter() - began
results = []
for root, kill_before, share in runs:
    child = os.fork()
    if child == 0:
        budget, calls = kill_before, 0
        build(Path(root))
        os._exit(0)
    if share is not None:
        time.sleep(share * duration)
        os.kill(child, signal.SIGKILL)
    status = os.waitpid(child, 0)[1]
    results.append(-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
print(json.dumps([mutations, results]))
"""
NEVER = 10**9


def run_builds(warm: Path, runs: list[tuple[Path, int, float | None]]) -> tuple[int, list[int]]:
    """Mutations of a complete build of ``warm``; exit status (or -signal) of each run of
    (root, kill before mutation N, or kill after this share of a build's duration)."""
    import json

    spec = json.dumps([str(warm), [(str(root), n, share) for root, n, share in runs]])
    done = subprocess.run([sys.executable, "-c", DRIVER, spec], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    mutations, results = json.loads(done.stdout.splitlines()[-1])
    return mutations, results


def survivors(marker: str) -> list[int]:
    """Processes whose command line mentions ``marker`` (the killed builds' worker processes, if any)."""
    time.sleep(0.5)  # a parent-death signal is delivered asynchronously
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def tree(root: Path) -> dict[str, bytes]:
    """Every output of a build, path -> bytes."""
    found: dict[str, bytes] = {}
    for rel in OUTPUTS:
        path = root / rel
        if path.is_dir():
            found |= {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
        elif path.exists():
            found[rel] = path.read_bytes()
    return found


def build_in_process(root: Path) -> None:
    result = runner.invoke(app, ["build", "--root", str(root)])
    assert result.exit_code == 0, result.output


def leftovers(root: Path) -> list[str]:
    work = sorted(p.name for p in (root / WORK_DIR).iterdir()) if (root / WORK_DIR).exists() else []
    legacy = sorted(p.name for p in root.glob(".dataset.*"))
    return [n for n in work if n != LOCK] + legacy


@pytest.fixture(scope="module")
def states(tmp_path_factory) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """A project whose next build changes every one of its outputs: (project, old tree, new tree)."""
    base = tmp_path_factory.mktemp("atomic")
    old = write_repo(base / "old", [task(gold_spans())])
    (old / "annotations" / "GUIDELINES.md").write_text(GUIDELINES, encoding="utf-8")
    build_in_process(old)
    # new annotations (one entity fewer: dataset/ and the datasheet statistics change) and stale generated files
    spans = [s for s in gold_spans() if s.id != "e4"]
    write_repo(old, [task(spans)])
    (old / "annotations" / "GUIDELINES.md").write_text(GUIDELINES, encoding="utf-8")
    for rel in OUTPUTS[3:]:
        (old / rel).write_text("stale\n", encoding="utf-8")
    (old / ".dataset.abc123").mkdir()  # a staging directory left by an earlier version
    new = base / "new"
    shutil.copytree(old, new)
    build_in_process(new)
    before, after = tree(old), tree(new)
    for rel in OUTPUTS:
        changed = [k for k in after if (k == rel or k.startswith(rel + "/")) and before.get(k) != after[k]]
        assert changed, f"{rel} does not change in the test's build"
    return old, before, after


def check_recovered(root: Path, old: dict[str, bytes], new: dict[str, bytes], label: str) -> str:
    """After the kill: dataset/ exists; the next command recovers a tree that is all old or all new."""
    assert (root / "dataset" / "README.md").is_file(), f"{label}: no dataset/ after the kill"
    result = runner.invoke(app, ["studio", "agreement", "--root", str(root)])  # any command recovers first
    assert result.exit_code == 0, f"{label}: {result.output}"
    assert not (root / WORK_DIR / JOURNAL).exists(), label
    now = tree(root)
    assert now in (old, new), f"{label}: mixed tree: " + ", ".join(
        sorted(k for k in set(now) | set(new) if now.get(k) != new.get(k) and now.get(k) != old.get(k))
    )
    if leftovers(root):  # killed before the commit: the next build removes what the killed one left
        build_in_process(root)
        assert tree(root) == new and leftovers(root) == [], f"{label}: {leftovers(root)}"
    return "new" if now == new else "old"


def test_a_killed_build_leaves_the_tree_entirely_old_or_entirely_new(states, tmp_path: Path) -> None:
    project, old, new = states
    # the commit makes 9 mutations (stale stage removal, journal, four files, the dataset/ swap,
    # journal and stage removal); a kill point past the last one checks that the count is right
    rng = random.Random(7)
    runs: list[tuple[str, int, float | None]] = [(f"before mutation {n}", n, None) for n in range(1, 12)]
    runs += [(f"after {share:.0%} of a build", NEVER, share) for share in sorted(rng.random() for _ in range(8))]
    roots = []
    for label, _, _ in [("warm", 0, None), *runs]:
        roots.append(tmp_path / label.replace(" ", "-").replace("%", ""))
        shutil.copytree(project, roots[-1])
    mutations, results = run_builds(roots[0], [(root, n, share) for root, (_, n, share) in zip(roots[1:], runs)])
    assert tree(roots[0]) == new and mutations == 9
    assert survivors(str(tmp_path)) == [], "a killed build left processes behind"
    outcomes = {}
    for root, (label, n, _), code in zip(roots[1:], runs, results):
        if n == NEVER:  # a kill at a random moment may come after the build finished
            assert code in (-signal.SIGKILL, 0), f"{label}: exit {code}"
        else:
            assert code == (-signal.SIGKILL if n <= mutations else 0), f"{label}: exit {code}"
        outcomes[label] = check_recovered(root, old, new, label)
    killed = [code for (_, n, _), code in zip(runs, results) if n == NEVER and code == -signal.SIGKILL]
    assert len(killed) >= 4, results
    # the journal is the commit point: killed before it the build is lost, after it the build completes
    points = [outcomes[f"before mutation {n}"] for n in range(1, mutations + 1)]
    assert points == sorted(points, key=["old", "new"].index) and "old" in points and "new" in points, points


def test_concurrent_builds_serialise(states, tmp_path: Path) -> None:
    project, _, new = states
    root = tmp_path / "repo"
    shutil.copytree(project, root)
    code = "import sys; from pathlib import Path; from crossclaim.dataset.build import build; build(Path(sys.argv[1]))"
    children = [subprocess.Popen([sys.executable, "-c", code, str(root)], stderr=subprocess.PIPE) for _ in range(2)]
    for child in children:
        _, stderr = child.communicate(timeout=300)
        assert child.returncode == 0, stderr.decode()
    assert tree(root) == new and leftovers(root) == []


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_modes_follow_the_umask(states, tmp_path: Path, mask: int) -> None:
    project, _, _ = states
    root = tmp_path / "repo"
    shutil.copytree(project, root)
    previous = os.umask(mask)
    try:
        build_in_process(root)
    finally:
        os.umask(previous)
    for rel in OUTPUTS:
        paths = [root / rel, *(root / rel).rglob("*")] if (root / rel).is_dir() else [root / rel]
        for path in paths:
            want = (0o777 if path.is_dir() else 0o666) & ~mask
            assert stat.S_IMODE(path.stat().st_mode) == want, f"{path.relative_to(root)}: {oct(path.stat().st_mode)}"
