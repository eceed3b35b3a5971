"""The fixtures file: the default world, replacing it, and refusing bad files clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pushfake import Fake, FixtureError
from pushfake.core.resources import default_fixtures


def _default() -> dict:
    return yaml.safe_load(default_fixtures().read_text(encoding="utf-8"))


def test_default_world_has_what_the_readme_promises():
    fake = Fake()
    app = fake.leanplum.state.app("app_pushfake")
    assert (app.production_key, app.development_key) == ("prod_pushfake", "dev_pushfake")
    assert {"1001", "1002"} <= set(app.messages)
    assert "{{" in app.messages["1001"].body and app.messages["1001"].variables
    assert app.messages["1002"].target
    platforms = {
        d.push_target()[0]
        for u in fake.leanplum.state.users("app_pushfake").values()
        for d in fake.leanplum.devices_of("app_pushfake", u.id)
    }
    assert platforms == {"apns", "fcm", "webpush"}


def test_a_replacement_world_is_used(tmp_path: Path):
    world = {"leanplum": {"apps": [{"id": "mine", "productionKey": "p", "developmentKey": "d",
                                    "users": [{"id": "solo"}]}]}}
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(world), encoding="utf-8")
    fake = Fake(fixtures=path)
    assert fake.leanplum.state.app("app_pushfake") is None
    assert fake.leanplum.user("mine", "solo") is not None


def _write(tmp_path: Path, document: object, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document), encoding="utf-8")
    return path


def _broken(mutate) -> dict:
    document = _default()
    mutate(document)
    return document


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (_broken(lambda d: d["leanplum"]["apps"][0]["messages"][1].update(id="x")),
         "leanplum.apps[0].messages[1].id: must be a whole number"),
        (_broken(lambda d: d["leanplum"]["apps"][0].pop("productionKey")),
         "leanplum.apps[0].productionKey: is required"),
        (_broken(lambda d: d["leanplum"]["apps"][0]["users"][0]["devices"][0].update(iosPushToken="nothex")),
         "leanplum.apps[0].users[0].devices[0].iosPushToken: is not in the expected form"),
        (_broken(lambda d: d["leanplum"].update(colour="blue")),
         "leanplum.colour: is not a known field"),
        (_broken(lambda d: d["leanplum"]["apps"][0]["messages"].append(dict(d["leanplum"]["apps"][0]["messages"][0]))),
         "leanplum.apps[0].messages[3].id: message 1001 is defined twice"),
        (_broken(lambda d: d["leanplum"]["apps"][0]["users"].append({"id": "alice"})),
         "leanplum.apps[0].users[3].id: user 'alice' is defined twice"),
        (_broken(lambda d: d["leanplum"]["apps"][0].update(developmentKey="prod_pushfake")),
         "leanplum.apps[0]: productionKey and developmentKey must differ"),
        ("leanplum: [unclosed", "not valid YAML"),
    ],
)
def test_bad_fixtures_are_refused_naming_file_place_and_problem(tmp_path, document, expected):
    path = _write(tmp_path, document)
    with pytest.raises(FixtureError) as info:
        Fake(fixtures=path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert expected in message


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(FixtureError, match="cannot read the file"):
        Fake(fixtures=tmp_path / "absent.yaml")


def test_json_fixtures_work(tmp_path):
    path = tmp_path / "w.json"
    path.write_text(json.dumps(_default()), encoding="utf-8")
    assert Fake(fixtures=path).leanplum.user("app_pushfake", "alice") is not None


# A file is read as warily as a request (issue 18): each of these once raised past FixtureError
# (RecursionError, a UnicodeEncodeError later) or took minutes (the alias bomb).
_BOMB = "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9) if p else ', '.join(['x'] * 9)}]\n"
                for p, c in zip(["", *"abcdef"], "abcdefg", strict=True))


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("bomb.yaml", _BOMB, "expands to more than 2,000,000 values"),
    ("deep.yaml", "a: " + "[" * 5_000, "nests too deeply"),
    ("deep.json", "[" * 100_000 + "]" * 100_000, "more than 64 levels deep"),
    ("surrogate.yaml", 'seed: 1\nleanplum: {apps: [{id: "\\ud800"}]}\n', "not valid Unicode"),
    ("surrogate.json", '{"seed": 1, "x": "\\udfff"}', "not valid Unicode"),
    ("nan.json", '{"seed": NaN}', "number out of range"),
    ("huge.yaml", "seed: 1" + "0" * 400 + "\n", "number out of range"),
    ("inf.yaml", "journal: {size: .inf}\n", "number out of range"),
])
def test_a_hostile_file_is_refused_with_a_clear_message(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with pytest.raises(FixtureError) as caught:
        Fake(fixtures=path)
    assert str(caught.value).startswith(f"{path}: ") and expected in str(caught.value), str(caught.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("seed: 1 # café\n".encode("latin-1"))
    with pytest.raises(FixtureError, match="not UTF-8 text"):
        Fake(fixtures=path)


def test_anchors_and_aliases_within_the_bound_still_load(tmp_path):
    text = (default_fixtures().read_text(encoding="utf-8")
            .replace("attributes: {plan: gold, name: Alice}", "attributes: &gold {plan: gold, name: Alice}", 1)
            .replace("attributes: {plan: gold, name: Carol}", "attributes: *gold", 1))
    path = tmp_path / "anchored.yaml"
    path.write_text(text, encoding="utf-8")
    assert "*gold" in text
    fake = Fake(fixtures=path)
    assert fake.leanplum.user("app_pushfake", "carol").attributes == {"plan": "gold", "name": "Alice"}
