"""Conformance of a target to openapi/leanplum.yaml: how its requests are steered and judged.

Each operation runs once per generation mode (positive, negative; see `conformance.run`) through
`case.call_and_validate()` with the default checks (no server errors, status code, content type,
response headers and response schema conformance, positive data acceptance, negative data
rejection, ...). Two of them run through thin wrappers, each narrowed for one kind of request that
the built-in check cannot judge (`leanplum_rules`, which reads what the spec says beyond JSON
Schema); everything else is as shipped.

Steering the generated requests:

- `format: json-object` / `format: json-array` (a string holding JSON text) get strategies that
  produce JSON text; the `text/plain` bodies are JSON documents (Leanplum's JS SDK posts JSON
  labelled text/plain), so they are serialized as JSON (both registered by `formats`, which a
  direct Schemathesis run loads too; this module gives `json-array` a richer strategy).
- `Steering.steer` (a `map_case` hook, so it applies to the coverage and fuzzing phases alike) gives
  most cases the target's app and one of its keys (the development key together with `devMode`), a
  user, device and message of the world, and real actions in batch items, so requests get past
  `App not found.` and reach real semantics. In safe mode it always gives its own ids, the
  development key (the production key and made-up absent ids for `sendMessage`), whatever it can. It swaps only values that are valid in their place
  for other valid ones, and keeps the generated case if the swap would change whether the request
  is valid, so a negative case keeps its violation. The choices are a digest of the generated
  case, so a run is as deterministic as the generation.
- The same hook drops the fixed query string of the path key (`/api?action=start` is sent to
  `/api`). The spec declares `action` twice: in the path key, so that each action is its own
  operation, and as a required `const` query parameter. Sent as is, the path key always adds an
  `action`, so a negative case that removes or changes the parameter would still carry a valid
  one. Without the key's query string the declared parameter alone carries `action`, which is
  what the spec says the key means.
- Schemathesis's source of string constants lifted from the app's code is off (see `_schema`).

Determinism: Hypothesis and the coverage phase draw from the run's seed, the steering choices are a
digest of the generated request, and a fake's clock is moved on 2 s before every call, so the
development-mode limit (one request per second per user) does not depend on how fast the machine
runs the cases. Two runs against a fake send the same requests and report the same failures.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from hypothesis import strategies as st

from pushfake.contract.conformance.digest import case_digest
from pushfake.contract.conformance.formats import json_objects, json_values
from pushfake.contract.conformance.leanplum_rules import TEXT_MEDIA_TYPES, narrowed_checks, rules
from pushfake.contract.safety import PUSH_TOKEN_PARAMETERS
from pushfake.contract.target import Target
from pushfake.contract.world import default_world


# --- generation ------------------------------------------------------------------------------------
def register_batch_format() -> None:
    """Half the JSON-text arrays are batch items of the world (for `data`), and some are arrays of
    any JSON values, which `data` must refuse (the narrowed positive check expects that), so that
    JSON-text batches reach real actions and the rule beyond JSON Schema is exercised. Registered
    over `formats`' strategy (valid batches only, which serves a direct Schemathesis run) when a
    run is steered, so importing this module changes nothing."""
    world = default_world().leanplum  # ids batch items are drawn with (steering makes them own in safe mode)
    batch_items = st.fixed_dictionaries(
        {"action": st.sampled_from(sorted(rules().item_actions)) | st.text(max_size=8)},
        optional={
            "userId": st.sampled_from(world.users) | st.text(max_size=8),
            "deviceId": st.sampled_from([d for devices in world.devices.values() for d in devices]),
            "event": st.text(min_size=1, max_size=20),
            "messageId": st.sampled_from([str(m) for m in (*world.push_messages, *world.targeted_messages)]),
            "userAttributes": json_objects,
            "reqId": st.text(max_size=8),
        },
    )
    schemathesis.openapi.format(
        "json-array", (st.lists(batch_items, min_size=1, max_size=4) | st.lists(json_values, max_size=4)).map(json.dumps)
    )


def _replaceable(action: str, params: dict[str, Any], name: str, as_text: bool) -> bool:
    """Whether `params[name]` is there and valid in its place (so a swap keeps the violation elsewhere)."""
    if name not in params:
        return False
    value = params[name]
    if as_text and (value is None or not isinstance(value, (str, int, float))):
        return False  # a query string or form carries only text (`QueryValues`)
    validators = rules().property_validators[action].get(name, [])
    return bool(validators) and all(validator.is_valid(value) for validator in validators)


def _pick(digest: int, salt: int, options: tuple[Any, ...]) -> Any:
    return options[(digest >> (salt * 4)) % len(options)]


class Steering:
    """The `map_case` hook for one target: its credentials and world in full mode; in safe mode
    only what the safety policy lets through (own ids, development mode, absent ids to send to)."""

    def __init__(self, target: Target) -> None:
        register_batch_format()
        self.target = target
        self.world = target.world.leanplum
        self.credentials = target.credentials
        self.safe = target.safe

    def _credentials(self, action: str, digest: int) -> str:
        if self.safe:
            return "production" if action == "sendMessage" else "development"
        return _pick(digest, 0, ("generated", "production", "production", "production", "development", "foreign key"))

    def _own(self, action: str, kind: str) -> str:
        ids = self.target.ids
        if action == "sendMessage":
            return ids.absent()
        return ids.user() if kind == "userId" else ids.device()

    def _steer_params(self, action: str, params: dict[str, Any], digest: int, as_text: bool) -> dict[str, Any]:
        params = dict(params)
        credentials = self._credentials(action, digest)
        if (
            credentials != "generated"
            and _replaceable(action, params, "appId", as_text)
            and _replaceable(action, params, "clientKey", as_text)
        ):
            params["appId"] = self.credentials.leanplum_app_id
            if credentials == "foreign key":  # the app's id with the generated key: "Invalid access key"
                pass
            elif credentials == "development" and (
                "devMode" not in params or _replaceable(action, params, "devMode", as_text)
            ):
                params["clientKey"] = self.credentials.leanplum_development_key
                params["devMode"] = "true" if as_text else True
            else:
                params["clientKey"] = self.credentials.leanplum_production_key
        for kind, options in (("userId", self.world.users), ("deviceId", self._world_devices())):
            if not _replaceable(action, params, kind, as_text):
                continue
            if self.safe:
                params[kind] = self._own(action, kind)
            else:
                choice = _pick(digest, 1 if kind == "userId" else 2, (None, *options)) if options else None
                if choice is not None:
                    params[kind] = choice
        disposition = _pick(digest, 5, (None, "CreateNever", "CreateIfNeeded", "absent"))
        if disposition is not None and _replaceable(action, params, "createDisposition", as_text):
            if disposition == "absent":  # the default applies
                del params["createDisposition"]
            else:
                params["createDisposition"] = disposition
        messages = (*self.world.push_messages, *self.world.targeted_messages)
        message = _pick(digest, 3, (None, *messages)) if messages else None
        if message is not None and _replaceable(action, params, "messageId", as_text):
            params["messageId"] = str(message) if as_text else message
        if self.safe:  # no push token in safe mode (see pushfake.contract.safety)
            for name in PUSH_TOKEN_PARAMETERS:
                params.pop(name, None)
        if isinstance(params.get("data"), list):
            params["data"] = [self._steer_item(item, digest, index) for index, item in enumerate(params["data"])]
        return params

    def _world_devices(self) -> tuple[str, ...]:
        return tuple(d for devices in self.world.devices.values() for d in devices)

    def _steer_item(self, item: Any, digest: int, index: int) -> Any:
        if not isinstance(item, dict) or not isinstance(item.get("action"), str) or not item["action"]:
            return item
        action = _pick(digest, 4 + index % 4, (None, "start", "track", "sendMessage", "setUserAttributes", "getVars"))
        item = item if action is None else {**item, "action": action}
        if self.safe:  # a batch item's ids are the suite's own too, absent ones for sendMessage; no tokens
            item = {k: v for k, v in item.items() if k not in PUSH_TOKEN_PARAMETERS}
            item = {**item, **{k: self._own(str(item["action"]), k) for k in ("userId", "deviceId") if k in item}}
        return item

    def steer(self, context: Any, case: Any) -> Any:
        """map_case hook: the path key without its query string, and the target's credentials and records."""
        case.path = case.operation.path.split("?", 1)[0]
        spec = rules()
        schema = spec.params_schema(case)
        if schema is None:
            return case
        validator = spec.validator(schema)
        action = spec.action_of(case)
        digest = case_digest(case)
        if case.method.upper() == "GET":
            before = {k: v for k, v in case.query.items() if k != "action"}
            after = self._steer_params(action, before, digest, as_text=True)
            if validator.is_valid(before) == validator.is_valid(after):
                case.query = {**case.query, **after}
        elif isinstance(case.body, dict):
            after = self._steer_params(action, case.body, digest, as_text=case.media_type in TEXT_MEDIA_TYPES)
            if validator.is_valid(case.body) == validator.is_valid(after):
                case.body = after
        # The edit keeps the mode the case was generated in (checked just above). Schemathesis would
        # otherwise re-validate the edited containers and, for a GET, get it wrong: it checks the query
        # against the declared parameters one by one without spreading the form-exploded `params`
        # object, so every edited GET case would be relabelled negative and escape the positive checks.
        # `_record_starting_state` is what Schemathesis itself calls after writing auth and overrides
        # into a generated case.
        case._record_starting_state()
        return case

    def checks(self) -> dict[str, list[Any]]:
        return narrowed_checks()

    def after_call(self, case: Any, response: Any) -> None:
        pass

    def prepare(self) -> None:
        """Nothing to make before an operation runs (the world has what the cases need)."""

    def get(self, case: Any, context: Any) -> None:  # no login on this API
        return None

    def before_call(self, case: Any) -> None:
        """On a fake, 2 s pass before each call: the development-mode limit is one request per
        second per user, and the run should not depend on how fast the machine is."""
        self.target.advance(2.0)

# Schemathesis lifts string constants from the app's code into string slots it deems valid. It
# cannot honour a custom `format`, so for this spec most of them land in JSON-text slots (`data`,
# `values`, ...) as non-JSON text: two `data` values in three in a positive multi run. That crowds
# out the requests that reach the fake's semantics, so this source is off; the formats' own
# strategies produce JSON text.
CONFIG: dict[str, Any] = {"analysis": {"constants": {"enabled": False}}}
