"""Conformance of a target to openapi/leanplum.yaml: how its requests are steered and judged.

Each operation runs once per generation mode (positive, negative; see `conformance.run`) through
`case.call_and_validate()` with the default checks (no server errors, status code, content type,
response headers and response schema conformance, positive data acceptance, negative data
rejection, ...). Two of them run through thin wrappers, each narrowed for one kind of request that
the built-in check cannot judge (see "Narrowed checks" below); everything else is as shipped.

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

Narrowed checks:

- Positive data acceptance, for requests that break a rule of the spec JSON Schema cannot
  enforce, so that a JSON Schema validator (Schemathesis's included) passes them though they are
  invalid: a `format: json-object` / `json-array` string that is not JSON text of that type
  (`format` is an annotation in JSON Schema 2020-12 and Schemathesis cannot assert a custom one),
  and a batch item that, merged with the top-level parameters, does not satisfy the schema its
  action names in `x-pushfake-item-actions` (the merge with the enclosing object cannot be written
  in JSON Schema, so `MultiItem` only requires `action`). Such a request must be rejected instead.
- Negative data rejection, for requests that carry their parameters as text (the query string of
  a GET, a urlencoded or multipart body) and whose violation does not survive serialization: the
  integer -2^53, sent as the text "-9007199254740992", is a valid `userId`. Schemathesis re-checks
  such values as they travel, but not inside a form-exploded object parameter (`params`), so here
  the wrapper reads the parameters back from the request actually sent and lets a request pass
  only if that wire form satisfies the operation's schema (and the JSON-text rules above). A
  repeated key counts with its last value, as pushfake reads it; the spec does not say.

Determinism: Hypothesis and the coverage phase draw from the run's seed, the steering choices are a
digest of the generated request, and a fake's clock is moved on 2 s before every call, so the
development-mode limit (one request per second per user) does not depend on how fast the machine
runs the cases. Two runs against a fake send the same requests and report the same failures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import schemathesis
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (
    expand_status_codes,
    negative_data_rejection,
    positive_data_acceptance,
)

from pushfake.contract import wire
from pushfake.contract.conformance.digest import case_digest
from pushfake.contract.conformance.formats import json_objects, json_values
from pushfake.contract.safety import PUSH_TOKEN_PARAMETERS
from pushfake.contract.spec import document
from pushfake.contract.target import Target
from pushfake.contract.world import default_world

DOCUMENT: dict[str, Any] = document("leanplum")
TEXT_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Ids batch items are drawn with (steering makes them the suite's own in safe mode).
_WORLD = default_world().leanplum

# --- what the spec says, read from the document itself (not through the fake's code) -------------


def _deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = DOCUMENT
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


_VALIDATORS: dict[str, jsonschema.Draft202012Validator] = {}


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for `schema` (a node of DOCUMENT, or a `$ref` into it), built once."""
    key = json.dumps(schema, sort_keys=True)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = jsonschema.Draft202012Validator({**schema, "components": DOCUMENT["components"]})
    return _VALIDATORS[key]


def _properties(schema: Any, depth: int = 0) -> Iterator[tuple[str, Any]]:
    """Every (name, schema) of a named property reachable through `$ref` and `allOf`."""
    schema = _deref(schema)
    if not isinstance(schema, dict) or depth > 20:
        return
    for part in schema.get("allOf", ()):
        yield from _properties(part, depth + 1)
    yield from schema.get("properties", {}).items()


def _json_text_kind(schema: Any) -> type | None:
    """`dict` / `list` when the property may be JSON text (`format: json-object` / `json-array`)."""
    schema = _deref(schema)
    if not isinstance(schema, dict):
        return None
    for branch in (schema, *schema.get("anyOf", ())):
        branch = _deref(branch)
        if isinstance(branch, dict) and branch.get("format") == "json-object":
            return dict
        if isinstance(branch, dict) and branch.get("format") == "json-array":
            return list
    return None


PATH_ACTIONS: dict[str, str] = {
    path["x-pushfake-action"]: path["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    for path in DOCUMENT["paths"].values()
    if "x-pushfake-action" in path
}
ITEM_ACTIONS: dict[str, str] = dict(DOCUMENT["components"]["schemas"]["MultiItem"]["x-pushfake-item-actions"])
JSON_TEXT: dict[str, dict[str, type]] = {
    action: {name: kind for name, prop in _properties({"$ref": pointer}) if (kind := _json_text_kind(prop))}
    for action, pointer in {**ITEM_ACTIONS, **PATH_ACTIONS}.items()
}
ITEM_VALIDATORS = {action: _validator({"$ref": pointer}) for action, pointer in ITEM_ACTIONS.items()}
PROPERTY_VALIDATORS: dict[str, dict[str, list[jsonschema.Draft202012Validator]]] = {}
for _action, _pointer in PATH_ACTIONS.items():
    for _name, _prop in _properties({"$ref": _pointer}):
        PROPERTY_VALIDATORS.setdefault(_action, {}).setdefault(_name, []).append(_validator(_prop))


def _operation(case: Any) -> dict[str, Any] | None:
    """The operation object, or None for a method the path does not declare (a coverage probe)."""
    return DOCUMENT["paths"][case.operation.path].get(case.method.lower())


def _action_of(case: Any) -> str:
    return DOCUMENT["paths"][case.operation.path]["x-pushfake-action"]


def _params_schema(case: Any) -> dict[str, Any] | None:
    """The schema of the action's parameters for this case: GET's `params`, or the body's media type."""
    operation = _operation(case)
    if operation is None:
        return None
    if case.method.upper() == "GET":
        return next(_deref(p)["schema"] for p in operation["parameters"] if _deref(p)["name"] == "params")
    content = operation["requestBody"]["content"].get(case.media_type or "")
    return content["schema"] if content else None


def _action_constant(case: Any) -> str:
    action = next(_deref(p) for p in _operation(case)["parameters"] if _deref(p)["name"] == "action")
    return action["schema"]["const"]


def _text(value: Any) -> Any:
    """A value as a query string or form carries it: text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _params(case: Any) -> dict[str, Any] | None:
    """The action's parameters as the server reads them, or None when the body is not an object."""
    if _operation(case) is None:
        return None
    if case.method.upper() == "GET":
        source = {k: v for k, v in case.query.items() if k != "action"}
    elif isinstance(case.body, dict):
        source = case.body
    else:
        return None
    as_text = case.method.upper() == "GET" or case.media_type in TEXT_MEDIA_TYPES
    return {k: _text(v) for k, v in source.items()} if as_text else dict(source)


def _json_text_problem(action: str, params: dict[str, Any], where: str = "") -> str | None:
    for name, kind in JSON_TEXT.get(action, {}).items():
        value = params.get(name)
        if not isinstance(value, str):
            continue
        try:
            decoded = json.loads(value)
        except ValueError:
            return f"{where}{name!r} is not JSON text"
        if not isinstance(decoded, kind):
            return f"{where}{name!r} is JSON text of the wrong type"
    return None


def beyond_json_schema(case: Any) -> str | None:
    """How the case breaks a rule of the spec that JSON Schema cannot enforce, or None."""
    params = _params(case)
    return None if params is None else _beyond_json_schema(_action_of(case), params)


def _beyond_json_schema(action: str, params: dict[str, Any]) -> str | None:
    problem = _json_text_problem(action, params)
    if problem is not None or action != "multi" or "data" not in params:
        return problem
    items = json.loads(params["data"]) if isinstance(params["data"], str) else params["data"]
    if not isinstance(items, list):
        return None
    context = {k: v for k, v in params.items() if k not in ("action", "data")}
    for index, item in enumerate(items):
        where = f"data[{index}]: "
        if not isinstance(item, dict):
            return f"{where}not an object"
        merged = {**context, **item}
        name = merged.get("action")
        if name not in ITEM_VALIDATORS:
            return f"{where}unknown action {name!r}"
        if not ITEM_VALIDATORS[name].is_valid(merged):
            return f"{where}does not satisfy {ITEM_ACTIONS[name]}"
        problem = _json_text_problem(name, merged, where)
        if problem is not None:
            return problem
    return None


def _sent_params(case: Any, response: Any) -> tuple[dict[str, str], dict[str, Any]] | None:
    """(query, parameters) read back from the request actually sent, for text carriers; None otherwise.

    A repeated key (how an array travels in a query string or form) counts with its last value,
    as pushfake reads them (`pushfake.core.decoding`); the spec itself does not say.
    """
    request = response.request
    query = wire.query(request)
    if case.method.upper() == "GET":
        return query, {k: v for k, v in query.items() if k != "action"}
    if case.media_type not in TEXT_MEDIA_TYPES:
        return None
    try:
        fields = wire.body(request)
    except wire.Unreadable:
        return None
    return (query, fields) if isinstance(fields, dict) else None


# --- the narrowed checks -----------------------------------------------------------------------------


def positive_data_acceptance_beyond_json_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    """The built-in positive data acceptance, except for requests that break a rule JSON Schema
    cannot enforce (see the module doc): those are invalid, so they must be rejected instead."""
    meta = case.meta
    problem = beyond_json_schema(case) if meta is not None and meta.generation.mode.is_positive else None
    if problem is None:
        return positive_data_acceptance(ctx, response, case)
    rejected = expand_status_codes(ctx.config.negative_data_rejection.expected_statuses or [])
    assert response.status_code in rejected, (
        f"Invalid data (a rule JSON Schema cannot express: {problem}) should have been rejected, "
        f"got {response.status_code}: {response.text[:300]}"
    )
    return None


def negative_data_rejection_on_the_wire(ctx: Any, response: Any, case: Any) -> bool | None:
    """The built-in negative data rejection, except for a text-carried request whose violation did not
    survive serialization (see the module doc): read back from the wire, it is valid."""
    meta = case.meta
    rejected = expand_status_codes(ctx.config.negative_data_rejection.expected_statuses or [])
    if meta is not None and meta.generation.mode.is_negative and response.status_code not in rejected:
        sent = _sent_params(case, response)
        schema = _params_schema(case)
        if (
            sent is not None
            and schema is not None
            and sent[0].get("action") == _action_constant(case)
            and _validator(schema).is_valid(sent[1])
            and _beyond_json_schema(_action_of(case), sent[1]) is None
        ):
            return None
    return negative_data_rejection(ctx, response, case)


# --- generation ------------------------------------------------------------------------------------

# Half the JSON-text arrays are batch items of the world (for `data`), and some are arrays of any
# JSON values, which `data` must refuse (the narrowed positive check expects that), so that JSON-text
# batches reach real actions and the rule beyond JSON Schema is exercised. Registered after
# `formats`, whose strategy (valid batches only) serves a direct Schemathesis run.
batch_items = st.fixed_dictionaries(
    {"action": st.sampled_from(sorted(ITEM_ACTIONS)) | st.text(max_size=8)},
    optional={
        "userId": st.sampled_from(_WORLD.users) | st.text(max_size=8),
        "deviceId": st.sampled_from([d for devices in _WORLD.devices.values() for d in devices]),
        "event": st.text(min_size=1, max_size=20),
        "messageId": st.sampled_from([str(m) for m in (*_WORLD.push_messages, *_WORLD.targeted_messages)]),
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
    validators = PROPERTY_VALIDATORS[action].get(name, [])
    return bool(validators) and all(validator.is_valid(value) for validator in validators)


def _pick(digest: int, salt: int, options: tuple[Any, ...]) -> Any:
    return options[(digest >> (salt * 4)) % len(options)]




class Steering:
    """The `map_case` hook for one target: its credentials and world in full mode; in safe mode
    only what the safety policy lets through (own ids, development mode, absent ids to send to)."""

    def __init__(self, target: Target) -> None:
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
        schema = _params_schema(case)
        if schema is None:
            return case
        validator = _validator(schema)
        action = _action_of(case)
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
        return {
            "excluded": [positive_data_acceptance, negative_data_rejection],
            "additional": [positive_data_acceptance_beyond_json_schema, negative_data_rejection_on_the_wire],
        }

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
