"""Croissant 1.1 metadata of the built dataset (``dataset/croissant.json``), derived from the features.

Every config is a RecordSet read from its parquet files: typed fields, lists as ``isArray``, structs as
``subField`` read by ``jsonPath``, a ``split`` field from the file path referencing the ``splits`` RecordSet,
and per ClassLabel an ``sc:Enumeration`` RecordSet of its names. A test loads every RecordSet with
mlcroissant and compares it with ``datasets``.
"""

from __future__ import annotations

import json
from pathlib import Path

from datasets import ClassLabel, List, Value

from crossclaim.dataset.card import DESCRIPTION, LICENSE_FILE, PRETTY_NAME, TAGS, Release, citation_bibtex
from crossclaim.dataset.published import Published
from crossclaim.dataset.tables import features
from crossclaim.schema.scheme import CONFIGS, SPLITS

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
ANNOTATIONS_LICENSE = "https://creativecommons.org/licenses/by/4.0/"
SPLIT_URL = {"train": "cr:TrainingSplit", "validation": "cr:ValidationSplit", "test": "cr:TestSplit"}
SPLITS_ID = "splits"

# The JSON-LD context of Croissant 1.1 (the specification's appendix), as mlcroissant expects it.
_CR_TERMS = (
    "arrayShape citeAs column containedIn equivalentProperty extract field fileObject fileProperty fileSet format "
    "includes isArray isLiveDataset jsonPath key md5 parentField path recordSet references regex repeated replace "
    "samplingRate separator source subField transform"
)
CONTEXT = {term: f"cr:{term}" for term in _CR_TERMS.split()} | {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "description": {"@container": "@language"},
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "name": {"@container": "@language"},
    "rai": "http://mlcommons.org/croissant/RAI/",
    "sc": "https://schema.org/",
}

_VALUE_TYPE = {"string": "sc:Text", "bool": "sc:Boolean", "float64": "sc:Float", "int32": "sc:Integer"}
PARQUET = "application/x-parquet"
SPLITS_SAID = "The splits, by document and nested: train, then validation, then test (see the card)."
LABELS_SAID = (
    "Label names of the ClassLabel fields whose description names this RecordSet: "
    "`index` is the stored integer, `name` its label."
)


def _node(kind: str, node_id: str, name: str | None = None, **rest: object) -> dict:
    """A Croissant node: its type, its ``@id`` and its name (the id unless given)."""
    return {"@type": kind, "@id": node_id, "name": name or node_id, **rest}


def _inline_record_set(rid: str, data_type: str, description: str, columns: dict[str, str], rows: list) -> dict:
    """A RecordSet holding its ``rows`` (tuples in the order of ``columns``: name -> type), keyed by the first."""
    return _node(
        "cr:RecordSet",
        rid,
        dataType=data_type,
        description=description,
        key={"@id": f"{rid}/{next(iter(columns))}"},
        field=[_node("cr:Field", f"{rid}/{n}", n, dataType=t) for n, t in columns.items()],
        data=[{f"{rid}/{n}": v for n, v in zip(columns, row, strict=True)} for row in rows],
    )


def _field(field_id: str, name: str, feature, source: dict, enums: dict[tuple[str, ...], str]) -> dict:
    """One cr:Field for a feature: its leaf type, array shape, sub-fields and label reference (``enums``: the
    label vocabularies met so far, each named by the first field that has it)."""
    out = _node("cr:Field", field_id, name)
    shape: list[str] = []
    leaf = feature
    while isinstance(leaf, List):
        shape.append(str(leaf.length))
        leaf = leaf.feature
    if shape:
        out |= {"isArray": True, "arrayShape": ",".join(shape)}
    if isinstance(leaf, dict):
        if len(shape) > 1 or "transform" in source:
            raise ValueError(f"{field_id}: Croissant sub-fields are read one level deep (jsonPath of a column)")
        out["subField"] = [
            _field(f"{field_id}/{key}", key, sub, source | {"transform": {"jsonPath": key}}, enums)
            for key, sub in leaf.items()
        ]
        return out
    if isinstance(leaf, ClassLabel):
        # Linked by description, not ``references``: mlcroissant turns a second top-level reference
        # (besides the split's) into a join that breaks loading one split.
        out["dataType"] = "sc:Integer"
        rid = enums.setdefault(tuple(leaf.names), "labels/" + field_id.removesuffix("/label"))
        names = ", ".join(leaf.names)
        out["description"] = f"Class index; its names, in index order, are the RecordSet {rid}: {names}"
    elif isinstance(leaf, Value) and leaf.dtype in _VALUE_TYPE:
        out["dataType"] = _VALUE_TYPE[leaf.dtype]
    else:
        raise ValueError(f"{field_id}: no Croissant type for feature {leaf!r}")
    out["source"] = source
    return out


def _split_field(config: str) -> dict:
    """The split of a record, read from its file's path (``<config>/<split>-00000-of-00001.parquet``).

    The regex uses ``.+`` because a loader filtering on the split turns it into a glob (``*``)."""
    return _node(
        "cr:Field",
        f"{config}/split",
        "split",
        description="The split of the record, from the name of its data file.",
        dataType="sc:Text",
        references={"field": {"@id": f"{SPLITS_ID}/name"}},
        source={
            "fileSet": {"@id": f"{config}-files"},
            "extract": {"fileProperty": "fullpath"},
            "transform": {"regex": f"^{config}/({'|'.join(SPLITS)})-.+\\.parquet$"},
        },
    )


def croissant(staging: Path, published: Published, release: Release, digests: dict[Path, str]) -> str:
    """Croissant 1.1 JSON-LD: one FileObject per data file (with its sha256, ``digests``), one FileSet and
    RecordSet per config, the splits and the label names."""
    distribution = []
    for path in sorted(published.files):
        rel, digest = path.relative_to(staging).as_posix(), digests[path]
        distribution.append(_node("cr:FileObject", rel, contentUrl=rel, encodingFormat=PARQUET, sha256=digest))
    enums: dict[tuple[str, ...], str] = {}
    record_sets = []
    built = [c for c in CONFIGS if any(published.rows[c].values())]
    for config in built:
        files = _node("cr:FileSet", f"{config}-files", encodingFormat=PARQUET, includes=f"{config}/*.parquet")
        distribution.append(files)
        fields = [_split_field(config)]
        for name, feat in features(config).items():
            source = {"fileSet": {"@id": f"{config}-files"}, "extract": {"column": name}}
            fields.append(_field(f"{config}/{name}", name, feat, source, enums))
        description = f"The `{config}` config (one record per row of its parquet files)."
        record_sets.append(_node("cr:RecordSet", config, description=description, field=fields))
    present = [(s, SPLIT_URL[s]) for s in SPLITS if any(published.rows[c][s] for c in built)]
    splits = _inline_record_set(SPLITS_ID, "cr:Split", SPLITS_SAID, {"name": "sc:Text", "url": "sc:URL"}, present)
    label_columns = {"index": "sc:Integer", "name": "sc:Text"}
    labels = [
        _inline_record_set(rid, "sc:Enumeration", LABELS_SAID, label_columns, list(enumerate(names)))
        for names, rid in enums.items()
    ]
    doc = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": PRETTY_NAME,
        "conformsTo": CONFORMS_TO,
        "description": DESCRIPTION,
        "citeAs": citation_bibtex(release),
        "license": [
            {"@type": "sc:CreativeWork", "name": "CC BY 4.0 (the annotations)", "url": ANNOTATIONS_LICENSE},
            {
                "@type": "sc:CreativeWork",
                "name": "The article texts remain their publishers'; included for non-commercial research only",
                "description": f"See {LICENSE_FILE}: no licence to the article texts is granted; removal on request.",
                "url": LICENSE_FILE,
            },
        ],
        "url": "https://huggingface.co/datasets/crossclaim/crossclaim",
        "version": release.version,
        **({"datePublished": release.date} if release.date else {}),
        "inLanguage": "en",
        "keywords": list(TAGS),
        "distribution": distribution,
        "recordSet": [splits, *labels, *record_sets],
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
