"""`pushfake serve` sets the bounds: the journal's bytes, each kind's retention, and the slow-client
limits; a wrong value is refused before anything starts."""

from __future__ import annotations

import pytest

from pushfake.cli import main
from tests.control.helpers import Client, serving


def test_serve_passes_the_bounds_to_the_fake():
    with serving("--journal-bytes", "500000", "--retention", "deliveries=3", "--retention", "tokens=7",
                 "--header-timeout", "3", "--body-timeout", "4", "--max-connections", "50") as served, \
            Client(served.url) as client:
        stats = client.stats()
    assert stats["journal"]["maxBytes"] == 500_000
    assert (stats["deliveries"]["max"], stats["tokens"]["max"], stats["events"]["max"]) == (3, 7, 100_000)


@pytest.mark.parametrize(("args", "says"), [
    (["--retention", "deliveries"], "--retention takes KIND=N, not 'deliveries'"),
    (["--retention", "users=5"], "retention: no kind 'users'"),
    (["--retention", "events=0"], "retention.events: a whole number >= 1"),
    (["--journal-bytes", "0"], "--journal-bytes must be >= 1"),
    (["--header-timeout", "0"], "header_timeout is a number of seconds above 0"),
    (["--max-connections", "0"], "max_connections is a whole number >= 1"),
])
def test_serve_refuses_a_wrong_bound(capsys, args, says):
    assert main(["serve", "--port", "0", *args]) == 2
    assert says in capsys.readouterr().err
