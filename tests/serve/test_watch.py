"""`pushfake serve --watch`: a changed fixtures file is loaded (the journal kept), a broken one is
reported in the fixture error's own words while the running world stays, and the next good one
is loaded."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from pushfake import Client, Fake
from pushfake.core.resources import default_fixtures
from pushfake.leanplum.admin import add_user
from pushfake.serve.watch import FixturesWatch
from tests.serve.helpers import running


def world(*extra_apps: str) -> dict[str, Any]:
    document = yaml.safe_load(default_fixtures().read_text(encoding="utf-8"))
    template = document["leanplum"]["apps"][0]
    for app in extra_apps:
        document["leanplum"]["apps"].append({**template, "id": app, "productionKey": f"prod_{app}",
                                             "developmentKey": f"dev_{app}", "messages": []})
    return document


def write(path: Path, document: dict[str, Any] | str) -> None:
    """Replace the file as editors do: a new file renamed over the old one."""
    text = document if isinstance(document, str) else yaml.safe_dump(document)
    fresh = path.with_suffix(".tmp")
    fresh.write_text(text, encoding="utf-8")
    os.replace(fresh, path)


def test_a_served_world_follows_its_file(tmp_path):
    path = tmp_path / "world.yaml"
    write(path, world())
    with running("--port", "0", "--fixtures", str(path),
                 env={"PUSHFAKE_WATCH": "1", "PUSHFAKE_WATCH_INTERVAL": "0.05"}) as server, \
            Client(server.url) as control:
        assert server.wait_for(server.out, lambda line: line.startswith("  watching"))
        start = httpx.get(f"{server.url}/api", params={"action": "start", "appId": "app_pushfake",
                                                       "clientKey": "prod_pushfake", "userId": "al"})
        assert start.status_code == 200

        write(path, world("app_new"))
        server.wait_for(server.err, lambda line: "reloaded" in line)
        assert [app["id"] for app in control.leanplum_apps()] == ["app_pushfake", "app_new"]
        assert [e["operation"] for e in control.journal()] == ["start"], "the journal is kept"

        write(path, "leanplum: {apps: [{id: x}]}\n")
        refused = server.wait_for(server.err, lambda line: "not loaded" in line)
        assert refused == (f"pushfake: {path} changed but was not loaded; the running world stays: "
                           f"{path}: leanplum.apps[0].productionKey: is required\n")
        assert [app["id"] for app in control.leanplum_apps()] == ["app_pushfake", "app_new"]

        write(path, world("app_next"))
        server.wait_for(server.err, lambda line: "reloaded" in line, nth=2)
        assert [app["id"] for app in control.leanplum_apps()] == ["app_pushfake", "app_next"]
    assert sum("not loaded" in line for line in server.err) == 1, "a broken file is reported once"


def poll(watch: FixturesWatch, fake: Fake) -> None:
    asyncio.run(watch.poll(fake))


def test_the_same_bytes_reload_nothing_and_a_quick_second_write_is_seen(tmp_path):
    path = tmp_path / "world.yaml"
    write(path, world("app_a"))
    lines: list[str] = []
    watch = FixturesWatch(path, lines.append)
    fake = Fake(fixtures=path)
    add_user(fake.leanplum.state, "app_a", {"id": "made-at-run-time"}, fake.clock.now())  # a reload would drop it

    os.utime(path)  # touched: a new mtime, the same bytes
    poll(watch, fake)
    assert lines == [] and fake.leanplum.state.user("app_a", "made-at-run-time") is not None

    # the same size and mtime, other bytes (a second write within a coarse timestamp tick)
    stat = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace("app_a", "app_b"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    poll(watch, fake)
    assert len(lines) == 1 and "reloaded" in lines[0]
    assert [app.id for app in fake.leanplum.state.apps()] == ["app_pushfake", "app_b"]


def test_a_missing_file_is_reported_and_its_return_loaded(tmp_path):
    path = tmp_path / "world.json"
    path.write_text('{"seed": 4}', encoding="utf-8")
    lines: list[str] = []
    watch = FixturesWatch(path, lines.append)
    fake = Fake(fixtures=path)
    path.unlink()
    poll(watch, fake)
    poll(watch, fake)
    assert len(lines) == 1 and "cannot read the file" in lines[0] and "the running world stays" in lines[0]
    time.sleep(0.01)
    path.write_text('{"seed": 4, "leanplum": {"apps": []}}', encoding="utf-8")
    poll(watch, fake)
    assert "reloaded" in lines[-1] and list(fake.leanplum.state.apps()) == []
