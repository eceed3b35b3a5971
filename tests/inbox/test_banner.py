"""`pushfake serve` prints where the inbox and the docs are, right after the control plane's line."""

from __future__ import annotations

import httpx

from tests.control.helpers import HTTP_TIMEOUT, serving


def test_serve_prints_the_inbox_url_and_it_answers():
    with serving() as served:
        assert served.process.stdout is not None
        line = served.process.stdout.readline()
        assert line.split() == ["inbox", f"{served.url}/_pushfake/inbox"], line
        page = httpx.get(line.split()[1], timeout=HTTP_TIMEOUT)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_serve_prints_the_docs_url_after_the_inbox_and_it_answers():
    with serving() as served:
        assert served.process.stdout is not None
        served.process.stdout.readline()  # the inbox
        line = served.process.stdout.readline()
        assert line.split() == ["docs", f"{served.url}/_pushfake/docs"], line
        page = httpx.get(line.split()[1], timeout=HTTP_TIMEOUT, headers={"Accept": "text/html"})
        assert page.status_code == 200 and "sendMessage" in page.text
