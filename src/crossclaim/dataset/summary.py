"""A human summary of the built dataset, read back through ``datasets.load_dataset``."""

from __future__ import annotations

from pathlib import Path

from crossclaim.schema.scheme import CONFIGS, LAYERS


def summarize(dataset_dir: Path) -> str:
    from datasets import get_dataset_config_names, load_dataset

    built = set(get_dataset_config_names(str(dataset_dir)))
    lines = []
    for config in (c for c in CONFIGS if c in built):
        ds = load_dataset(str(dataset_dir), config)
        sizes = ", ".join(f"{split} {len(ds[split])}" for split in ds)
        lines.append(f"{config}: {sizes}")
        if config == "documents":
            for split in ds:
                for row in ds[split]:
                    counts = ", ".join(f"{layer} {len(row[layer])}" for layer in LAYERS)
                    lines.append(f"  {split:<10} {row['id']}  {row['publisher'] or '(publisher unknown)'}: {counts}")
    return "\n".join(lines)
