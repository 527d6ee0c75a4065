"""dataset/croissant.json read by mlcroissant, the reference Croissant implementation: it validates
without warnings, every RecordSet loads, each split loads on its own, the records equal
``datasets.load_dataset`` row by row, and the label names equal the ClassLabel names."""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict

import mlcroissant as mlc
import pytest
from conftest import REPO
from datasets import ClassLabel, List, load_dataset

from crossclaim.schema.scheme import CONFIGS

DATASET = REPO / "dataset"
CROISSANT = DATASET / "croissant.json"


@pytest.fixture(scope="module")
def load_hf(tmp_path_factory: pytest.TempPathFactory):
    """``datasets.load_dataset`` of the committed dataset with a cache of its own: ``datasets`` keys the
    cache of a local folder by its card metadata, not by the data, so a shared cache can serve the
    rows of another build with the same sizes."""
    cache = tmp_path_factory.mktemp("hf-cache")
    return lambda config: load_dataset(str(DATASET), config, cache_dir=str(cache))


def _plain(value):
    """A record value as ``datasets`` gives it: Croissant text (bytes) decoded as UTF-8, field ids
    (``config/column/sub``) shortened to their names."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, dict):
        return {key.rsplit("/", 1)[-1]: _plain(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _same(a: dict, b: dict) -> bool:
    """Equal values of equal JSON types (``True`` is not ``1``, ``5`` is not ``5.0``)."""
    return json.dumps(a, sort_keys=True, ensure_ascii=False) == json.dumps(b, sort_keys=True, ensure_ascii=False)


def _assert_rows(records: list[dict], rows: list[dict], where: str) -> None:
    assert len(records) == len(rows), f"{where}: {len(records)} Croissant records, {len(rows)} datasets rows"
    for i, (record, row) in enumerate(zip(records, rows)):
        assert _same(record, row), f"{where}, row {i}:\n croissant {record}\n datasets  {row}"


def test_validates_without_errors_or_warnings(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        ds = mlc.Dataset(jsonld=CROISSANT)  # raises mlc.ValidationError on any error
    assert not ds.metadata.ctx.issues.warnings
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert ds.metadata.ctx.is_v1_1()  # isArray / arrayShape are Croissant 1.1


@pytest.mark.parametrize("config", CONFIGS)
def test_every_record_equals_the_datasets_row(config: str, load_hf) -> None:
    hf = load_hf(config)
    by_split: dict[str, list[dict]] = defaultdict(list)
    for record in mlc.Dataset(jsonld=CROISSANT).records(config):
        row = _plain(record)
        by_split[row.pop("split")].append(row)
    assert sorted(by_split) == sorted(hf)
    for split in hf:
        _assert_rows(by_split[split], hf[split].to_list(), f"{config}/{split}")


@pytest.mark.parametrize("config", CONFIGS)
def test_each_split_loads_on_its_own(config: str, load_hf) -> None:
    hf = load_hf(config)
    for split in hf:
        # a fresh Dataset per split: filtering narrows the file set of the loaded metadata in place
        records = [_plain(r) for r in mlc.Dataset(jsonld=CROISSANT).records(config, filters={f"{config}/split": split})]
        assert {r.pop("split") for r in records} == {split}
        _assert_rows(records, hf[split].to_list(), f"{config}/{split} (filtered)")


def test_the_splits_record_set_names_train_validation_and_test() -> None:
    records = [_plain(r) for r in mlc.Dataset(jsonld=CROISSANT).records("splits")]
    assert records == [
        {"name": "train", "url": "cr:TrainingSplit"},
        {"name": "validation", "url": "cr:ValidationSplit"},
        {"name": "test", "url": "cr:TestSplit"},
    ]


def _class_labels(feature, path: str):
    """Every ClassLabel of a feature tree, with the Croissant field id it maps to."""
    while isinstance(feature, List):
        feature = feature.feature
    if isinstance(feature, ClassLabel):
        yield path, feature
    elif isinstance(feature, dict):
        for key, sub in feature.items():
            yield from _class_labels(sub, f"{path}/{key}")


def _fields(fields):
    for f in fields:
        yield f
        yield from _fields(f.sub_fields)


def test_label_names_are_the_classlabel_names(load_hf) -> None:
    ds = mlc.Dataset(jsonld=CROISSANT)
    fields = {f.id: f for rs in ds.metadata.record_sets for f in _fields(rs.fields)}
    checked = 0
    for config in CONFIGS:
        features = load_hf(config)["test"].features
        for field_id, label in (x for name, feat in features.items() for x in _class_labels(feat, f"{config}/{name}")):
            field = fields[field_id]
            assert [str(t) for t in field.data_types] == ["https://schema.org/Integer"], field_id
            m = re.search(r"RecordSet (labels/\S+):", field.description or "")
            assert m, f"{field_id}: the description does not name the label RecordSet"
            names = {r[f"{m[1]}/index"]: _plain(r[f"{m[1]}/name"]) for r in ds.records(m[1])}
            assert [names[i] for i in sorted(names)] == label.names, field_id
            assert sorted(names) == list(range(len(label.names))), field_id
            checked += 1
    assert checked >= 10  # span labels of four layers, five tag layers, the pair label
