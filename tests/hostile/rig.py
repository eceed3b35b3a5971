"""One fake driven in process, and what must hold around every hostile request to it.

`Rig.snapshot` is the fake's state as its public inspection APIs and the control plane show it
(users, devices, events, contacts, parts, tokens, sends, deliveries, clock, faults, limits,
gateway settings): a refused request must leave it identical. `Rig.still_works` sends known-good
requests and reads every listing afterwards.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.testclient import TestClient

from pushfake import Fake, ManualClock, create_app
from pushfake.core.catalogue import ErrorCatalogue

APP, PROD = "app_pushfake", "prod_pushfake"
ACCOUNT, USERKEY, PASSWORD = "acc_pushfake", "pushfake", "pushfake-secret"
CREDS = {"appId": APP, "clientKey": PROD}
# Python's and the schema validator's wording, which no error text may carry
PYTHON_WORDING = ("Traceback", "Expecting value", "object has no attribute", "Errno", "line 1 column", "codec can't",
                  "RecursionError", "OverflowError", "internal error", "is not of type", "is a required property",
                  "Additional properties", "is not one of", "is greater than", "is less than", "does not match",
                  "is not valid under", "None", "True", "False", "{'", "['", "\\x", "\\U")
LISTINGS = ["/_pushfake/leanplum/apps/app_pushfake/users", "/_pushfake/deliveries", "/_pushfake/faults",
            "/_pushfake/limits", "/_pushfake/journal", "/_pushfake/clock", "/_pushfake/gateway",
            "/_pushfake/dengage/accounts/acc_pushfake/contacts", "/_pushfake/failures", "/_pushfake/inbox",
            "/_pushfake/inbox/requests", "/_pushfake/inbox/state", "/_pushfake/health"]


@dataclass
class Rig:
    fake: Fake = field(default_factory=lambda: Fake(seed=7, clock=ManualClock()))
    client: TestClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = TestClient(create_app(self.fake), raise_server_exceptions=False)
        # entered once: one event loop thread for every request, instead of one started per request
        # (a snapshot alone is some twenty requests)
        self.client.__enter__()

    def close(self) -> None:
        self.client.__exit__(None, None, None)

    # --- state ------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        fake, get = self.fake, self.client.get
        state: dict[str, Any] = {"clock": fake.clock.now(), "seed": fake.seed}
        for app in fake.leanplum.state.apps():
            state[f"lp:{app.id}:users"] = get(f"/_pushfake/leanplum/apps/{app.id}/users").json()
            state[f"lp:{app.id}:messages"] = get(f"/_pushfake/leanplum/apps/{app.id}/messages").json()
            state[f"lp:{app.id}:devices"] = sorted(repr(d) for d in fake.leanplum.state.devices(app.id).values())
        for account in fake.dengage.state.accounts():
            for kind in ("contacts", "templates", "segments", "tables"):
                state[f"de:{account.id}:{kind}"] = get(f"/_pushfake/dengage/accounts/{account.id}/{kind}").json()
            state[f"de:{account.id}:sends"] = sorted(repr(s) for s in fake.dengage.state.sends(account.id).values())
            state[f"de:{account.id}:devices"] = sorted(repr(d) for d in fake.dengage.state.devices(account.id).values())
        state["de:tokens"] = sorted(repr(t) for t in fake.dengage.state.tokens().values())
        for listing in ("deliveries", "faults", "limits", "gateway", "clock", "failures"):
            state[listing] = get(f"/_pushfake/{listing}").json()
        return state

    # --- checks -----------------------------------------------------------------------------
    def vendor_call(self, method: str, url: str, catalogue: ErrorCatalogue, **kwargs: Any) -> Any:
        """Send a vendor request; check it is never a 5xx, is journaled once, its error texts
        come from `catalogue`, and a refusal (4xx) changed nothing."""
        before, seq = self.snapshot(), self.fake.journal.last_seq()
        response = self.client.request(method, url, **kwargs)
        assert response.status_code < 500, (response.status_code, response.text[:500])
        assert not self.fake.failures.list(), self.fake.failures.list()[0].to_dict()["traceback"]
        entries = self.fake.journal.find()
        assert self.fake.journal.last_seq() == seq + 1 and entries[-1].status == response.status_code, \
            "the request was not journaled with its answer"
        for message in error_texts(response):
            assert catalogue.match(message) is not None, f"not in the {catalogue.vendor} catalogue: {message!r}"
        if refused(response):
            assert self.snapshot() == before, f"a refused request ({response.status_code}) changed the state"
        return response

    def still_works(self) -> None:
        """Known-good requests answer right, and every listing answers 200."""
        start = self.client.post("/api?action=start", json={**CREDS, "userId": "known-good"})
        assert start.status_code == 200 and start.json()["response"][0]["success"] is True, start.text[:300]
        login = self.client.post("/rest/login", json={"userkey": USERKEY, "password": PASSWORD})
        assert login.status_code == 200 and login.json()["access_token"], login.text[:300]
        for path in LISTINGS:
            response = self.client.get(path)
            assert response.status_code == 200, (path, response.status_code, response.text[:300])
        assert not self.fake.failures.list(), self.fake.failures.list()[0].to_dict()["traceback"]


def error_texts(response: Any) -> list[str]:
    """Every error (and warning) text in a vendor answer: Leanplum's elements, D·engage's
    message and field errors."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        raise AssertionError(f"the answer is not JSON: {response.text[:200]!r}") from None
    texts: list[str] = []
    if isinstance(body, dict) and "response" in body:  # Leanplum
        assert isinstance(body["response"], list), body
        assert body["response"] or response.status_code < 400, body  # an empty multi answers []
        for element in body["response"]:
            assert isinstance(element.get("success"), bool), element
            for kind in ("error", "warning"):
                if kind in element:
                    texts.append(element[kind]["message"])
    elif isinstance(body, dict) and "code" in body and response.status_code >= 400:  # D·engage
        assert body["code"] == response.status_code and isinstance(body["message"], str), body
        texts.append(body["message"])
    return texts


def refused(response: Any) -> bool:
    """A 4xx in which nothing succeeded (a Leanplum `multi` answers each item: the ones that
    succeeded did their work even when another item's error sets the status)."""
    if response.status_code < 400:
        return False
    body = response.json()
    elements = body.get("response") if isinstance(body, dict) else None
    return not (isinstance(elements, list) and any(e.get("success") for e in elements))


def control_error(response: Any) -> str:
    """The control plane's error message, after checking the error shape and its words."""
    body = response.json()
    assert set(body) == {"error"} and body["error"]["status"] == response.status_code, body
    message = body["error"]["message"]
    assert isinstance(message, str) and message, body
    assert not any(w in message for w in PYTHON_WORDING), message
    return message


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def with_fragment(params: Any, path: str, fragment: str, duplicate: bool = False) -> str:
    """`params` as JSON text with the value at `path` ("key", "a.0.b") replaced by the raw JSON
    text `fragment`; with `duplicate`, the key keeps its value and is given again with the
    fragment (a duplicate key, which the last occurrence wins in most readers)."""
    marker = f"@@{uuid.uuid4().hex}@@"
    params = json.loads(json.dumps(params))
    *parents, key = path.split(".")
    holder = params
    for part in parents:
        holder = holder[int(part)] if isinstance(holder, list) else holder[part]
    if isinstance(holder, list):
        holder[int(key)] = marker
        return dumps(params).replace(f'"{marker}"', fragment)
    if duplicate and key in holder:
        holder[f"{key}{marker}"] = marker
        return dumps(params).replace(f'"{key}{marker}":"{marker}"', f'"{key}":{fragment}')
    holder[key] = marker
    return dumps(params).replace(f'"{marker}"', fragment)
