"""Safe mode: what the suite may send to a deployment that pushes to real phones.

Judged on the request as it leaves (the gate asks before every send), whatever generated it, so
a fuzzed value cannot slip past:

- Leanplum: only the actions of the spec (and made-up names starting `pushfakeContract`, for the
  unknown-action check); every user and device id the suite's own (`<prefix>-...`); no push
  token registered; every action but `sendMessage` in development mode (`sendMessage` never succeeds
  there: the development key is refused for it, and devMode with the production key, so the checks
  that need a send to reach a user say they are not checkable); `sendMessage` only to ids made to be absent
  (`<prefix>-absent-...`, the skip path), or to the one test user, device and message the run was
  given.
- D·engage: login, reading a send report, and sends whose audience is the table or segment the
  run was given; nothing else.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from itertools import count
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from pushfake.contract import wire
from pushfake.contract.settings import ContractSettings

MADE_UP_ACTION_PREFIX = "pushfakeContract"
# Parameters that register a device's push token: never sent in safe mode, so no campaign of the
# account can reach even the suite's own test devices.
PUSH_TOKEN_PARAMETERS = ("iosPushToken", "gcmRegistrationId", "webPushSubscription")
# What the policy judges: a request that gives one of these two ways (twice in the query, or in
# the query and the body with different values) is refused, since a deployment may read either.
READABLE = ("", "application/json", "text/plain", "text/json", wire.FORM, wire.MULTIPART)
JUDGED = ("action", "userId", "deviceId", "devMode", "messageId", "data", *PUSH_TOKEN_PARAMETERS)


@dataclass
class TestIds:
    """Ids the suite makes for itself: all start with `<prefix>-<run>-`. `absent` ones are never
    given to `start`, so a `sendMessage` to them can only take the skip path."""

    __test__ = False  # not a pytest test class, whatever its name

    prefix: str
    run: str
    seen: set[str] = field(default_factory=set)  # every own id that was sent (the report lists them)
    _counter: Any = field(default_factory=count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def stem(self) -> str:
        return f"{self.prefix}-{self.run}-"

    def _next(self) -> int:
        with self._lock:
            return next(self._counter)

    def restart(self) -> None:
        """Number from 0 again: only where every endpoint was reset, so no id can meet an old one."""
        with self._lock:
            self._counter = count()

    def user(self) -> str:
        return f"{self.stem}user-{self._next()}"

    def device(self) -> str:
        return f"{self.stem}device-{self._next()}"

    def absent(self) -> str:
        return f"{self.stem}absent-{self._next()}"

    def own(self, value: Any) -> bool:
        return isinstance(value, (str, int)) and str(value).startswith(self.stem)

    def is_absent(self, value: Any) -> bool:
        return isinstance(value, str) and value.startswith(f"{self.stem}absent-")


class SafetyPolicy:
    """Callable the gate asks before each send: a reason to withhold the request, or None."""

    def __init__(self, settings: ContractSettings, ids: TestIds, leanplum_actions: frozenset[str]) -> None:
        self.settings = settings
        self.ids = ids
        self.actions = leanplum_actions

    def __call__(self, request: requests.PreparedRequest) -> str | None:
        path = urlsplit(request.url or "").path
        if path.rstrip("/") in ("/api", "/api-batch"):  # /api-batch: the spec's alias of /api
            return self._leanplum(request)
        if path.startswith("/rest/"):
            return self._dengage(request, path)
        return f"{path} is not an endpoint of the suite"

    # --- Leanplum ----------------------------------------------------------------------------------
    def _leanplum(self, request: requests.PreparedRequest) -> str | None:
        query = wire.query(request)
        try:
            decoded = wire.body(request)
        except wire.Unreadable as exc:
            if wire.media_type(request) in READABLE:  # a lenient deployment might read it anyway
                return f"a body safe mode cannot read ({str(exc)[:80]})"
            decoded = None  # a media type the vendor does not read (415): the query alone can act
        seen: dict[str, str] = {}
        for key, value in parse_qsl(urlsplit(request.url or "").query, keep_blank_values=True):
            if key in JUDGED and seen.setdefault(key, value) != value:
                return f"{key} given twice in the query (a deployment may read either value)"
        if isinstance(decoded, dict):
            for key in sorted(set(query) & set(decoded) & set(JUDGED)):
                if str(query[key]) != str(decoded[key]):
                    return f"{key} in both the query and the body, with different values (a deployment may read either)"
        params: dict[str, Any] = {**query, **decoded} if isinstance(decoded, dict) else dict(query)
        if "action" in query:
            params["action"] = query["action"]
        items = [params]
        if params.get("action") == "multi":
            data = params.get("data")
            if isinstance(data, str):
                try:
                    data = json.loads(data)
                except ValueError:
                    return "a multi batch whose data cannot be read"
            if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
                return "a multi batch whose data is not a list of objects"
            context = {k: v for k, v in params.items() if k not in ("action", "data")}
            items = [{**context, **item} for item in data]
        for item in items:
            reason = self._leanplum_item(item)
            if reason is not None:
                return reason
        for item in items:
            for key in ("userId", "deviceId"):
                if self.ids.own(item.get(key)):
                    self.ids.seen.add(str(item[key]))
        return None

    def _leanplum_item(self, item: dict[str, Any]) -> str | None:
        action = item.get("action")
        if action is not None and not (isinstance(action, str) and (
                action in self.actions or action.startswith(MADE_UP_ACTION_PREFIX))):
            return f"action {str(action)[:40]!r} is not one the suite may send"
        user, device = item.get("userId"), item.get("deviceId")
        if action == "sendMessage":
            return self._send_message(item, user, device)
        for key, value in (("userId", user), ("deviceId", device)):
            if value not in (None, "") and not self.ids.own(value):
                return f"{key} {str(value)[:40]!r} is not one of the suite's own ids"
        tokens = [name for name in PUSH_TOKEN_PARAMETERS if item.get(name) not in (None, "")]
        if tokens:
            return f"{action or 'a request'} registering a push token ({tokens[0]})"
        if item.get("devMode") not in (True, "true", "True", "1", 1):
            return f"{action or 'a request'} outside development mode"
        return None

    def _send_message(self, item: dict[str, Any], user: Any, device: Any) -> str | None:
        test = self.settings.leanplum_test_device
        if test is not None and str(user) == test[0] and str(item.get("messageId")) == str(
                self.settings.leanplum_test_message) and device in (None, "", test[1]):
            return None
        if not self.ids.is_absent(user) and not (user in (None, "") and self.ids.is_absent(device)):
            return "sendMessage to a user that may exist (only made-up absent ids, or the given test device)"
        if device not in (None, "") and not self.ids.is_absent(device):
            return "sendMessage to a device that may exist"
        return None

    # --- D·engage ----------------------------------------------------------------------------------
    def _dengage(self, request: requests.PreparedRequest, path: str) -> str | None:
        method = (request.method or "GET").upper()
        if path == "/rest/login" and method == "POST":
            return None
        if path == "/rest/push/sendInstant" and method == "GET":
            return None
        if path != "/rest/push/sendInstant" or method != "POST":
            return f"{method} {path} is not an endpoint of the suite"
        table, segment = self.settings.dengage_table, self.settings.dengage_segment
        if not table and not segment:
            return "a D·engage send, and no table or segment was named for the suite"
        try:
            body = wire.body(request)
        except wire.Unreadable:
            body = None
        if not isinstance(body, dict):
            return "a D·engage send whose body is not a JSON object (its audience cannot be judged)"
        named = {"tableId": table, "segmentId": segment}
        given = {key: body[key] for key in named if body.get(key) not in (None, "")}
        if not given:
            return "a D·engage send to every device (no table or segment in the body)"
        for key, value in given.items():
            if not (isinstance(value, str) and named[key] and value.lower() == named[key].lower()):
                return f"a D·engage send to a {key} other than the one named"
        return None
