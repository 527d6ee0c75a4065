"""A human summary of the built dataset, read back through ``datasets.load_dataset``.

Only the local ``dataset/`` is read: it is loaded by absolute path once its card is found, so
``datasets`` reads the directory (no request to the hub) and a missing one is an error here rather
than a hub id to retry for half a minute.
"""

from __future__ import annotations

from pathlib import Path

from crossclaim.dataset.card import CHANGELOG_FILE, release_of
from crossclaim.errors import InputError
from crossclaim.schema.scheme import CONFIGS, LAYERS


def summarize(dataset_dir: Path) -> str:
    """The release (the newest entry of the dataset's changelog, as in the card) and every config."""
    dataset_dir = dataset_dir.resolve()
    if not (dataset_dir / "README.md").is_file():
        raise InputError(str(dataset_dir), "no built dataset here: run `crossclaim build`")
    import datasets

    quiet = datasets.utils.are_progress_bars_disabled()
    datasets.disable_progress_bars()  # the summary is the output, not the split generation bars
    try:
        return "\n".join(_lines(dataset_dir))
    finally:
        if not quiet:
            datasets.enable_progress_bars()


def _lines(dataset_dir: Path) -> list[str]:
    from datasets import get_dataset_config_names, load_dataset

    built = set(get_dataset_config_names(str(dataset_dir)))
    changelog = dataset_dir / CHANGELOG_FILE
    release = release_of(changelog.read_text(encoding="utf-8") if changelog.is_file() else None)
    lines = [f"CrossClaim dataset version {release.version}" + (f" ({release.date})" if release.date else "")]
    for config in (c for c in CONFIGS if c in built):
        ds = load_dataset(str(dataset_dir), config)
        sizes = ", ".join(f"{split} {len(ds[split])}" for split in ds)
        lines.append(f"{config}: {sizes}")
        if config == "documents":
            for split in ds:
                for row in ds[split]:
                    counts = ", ".join(f"{layer} {len(row[layer])}" for layer in LAYERS)
                    publisher = row["publisher"] or "(publisher unknown)"
                    lines.append(f"  {split:<10} {row['id']}  {publisher}: {counts}")
    return lines
