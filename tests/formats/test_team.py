"""The team file: declared once, validated with the field named."""

import json

import pytest
from conftest import REPO

from crossclaim.errors import InputError
from crossclaim.formats.team import Team, load_team, parse_team


def test_committed_team_declares_the_adjudicator():
    team = load_team(REPO / "annotations")
    assert team.role("adjudicator@example.org") == "adjudicator"
    assert team.role("annotator-a@example.org") is None  # historical: no account, no role


def test_missing_file_is_an_empty_team(tmp_path):
    assert load_team(tmp_path) == Team()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "a team file is a JSON object"),
        ({"annotators": "a@b.org"}, "field annotators: a list of e-mail addresses"),
        ({"annotators": ["not-an-email"]}, "annotators[0]: not an e-mail address"),
        ({"annotators": ["a@b.org"], "adjudicators": ["a@b.org"]}, "declared twice"),
        ({"overlap": 0}, "field overlap"),
        ({"overlap": True}, "field overlap"),
        ({"pre_annotations": "some"}, "field pre_annotations"),
        ({"password": "x"}, "unknown field"),
    ],
)
def test_bad_team_files_are_refused_with_the_field_named(tmp_path, raw, message):
    (tmp_path / "team.json").write_text(json.dumps(raw))
    with pytest.raises(InputError) as exc:
        load_team(tmp_path)
    assert message in "\n".join(exc.value.lines())


def test_roles():
    team = parse_team({"annotators": ["a@x.org"], "adjudicators": ["l@x.org"], "overlap": 3}, "t")
    assert (team.role("a@x.org"), team.role("l@x.org"), team.role("z@x.org")) == ("annotator", "adjudicator", None)
    assert team.members == ("a@x.org", "l@x.org") and team.overlap == 3
