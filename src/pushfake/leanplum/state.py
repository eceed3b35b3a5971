"""Leanplum records in the store: one set of tables per app, so apps never share rows.

This is also the public inspection API tests use (`user`, `device`, `devices_of`, `events`).
Events are kept up to a bound over all apps and users (`core.retention`), oldest dropped.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from pushfake.core.retention import DEFAULT_BOUNDS, Kept
from pushfake.core.store import Store, Table
from pushfake.leanplum.models import App, Device, Event, User


class LeanplumState:
    def __init__(self, store: Store) -> None:
        self._store = store
        # keys (app, user, n), oldest first
        self.kept_events = Kept(store, "leanplum", "kept-events", bound=DEFAULT_BOUNDS["events"])
        self._event_numbers = store.counter("leanplum", "event-numbers")

    def transaction(self) -> AbstractContextManager[Any]:
        return self._store.transaction()

    # --- tables ------------------------------------------------------------------------
    def _apps(self) -> Table[App]:
        return self._store.table("leanplum", "apps")

    def users(self, app_id: str) -> Table[User]:
        return self._store.table("leanplum", app_id, "users")

    def devices(self, app_id: str) -> Table[Device]:
        return self._store.table("leanplum", app_id, "devices")

    def _events(self, app_id: str) -> Table[list[Event]]:
        return self._store.table("leanplum", app_id, "events")

    # --- apps ----------------------------------------------------------------------------
    def app(self, app_id: str) -> App | None:
        return self._apps().get(app_id)

    def put_app(self, app: App) -> None:
        self._apps().put(app.id, app)

    def apps(self) -> list[App]:
        return list(self._apps().values())

    # --- users and devices -----------------------------------------------------------------
    def user(self, app_id: str, user_id: str) -> User | None:
        return self.users(app_id).get(user_id)

    def device(self, app_id: str, device_id: str) -> Device | None:
        return self.devices(app_id).get(device_id)

    def devices_of(self, app_id: str, user_id: str) -> list[Device]:
        user = self.user(app_id, user_id)
        if user is None:
            return []
        table = self.devices(app_id)
        return [d for d in (table.get(i) for i in user.device_ids) if d is not None]

    def attach_device(self, app_id: str, user: User, device: Device) -> None:
        """Store `device` as one of `user`'s devices (moving it from another user if needed)."""
        previous = self.devices(app_id).get(device.id)
        if previous is not None and previous.user_id != user.id:
            owner = self.user(app_id, previous.user_id)
            if owner is not None and device.id in owner.device_ids:
                owner.device_ids.remove(device.id)
                self.users(app_id).put(owner.id, owner)
        device.user_id = user.id
        if device.id not in user.device_ids:
            user.device_ids.append(device.id)
        self.devices(app_id).put(device.id, device)
        self.users(app_id).put(user.id, user)

    # --- events ----------------------------------------------------------------------------
    def events(self, app_id: str, user_id: str) -> list[Event]:
        return list(self._events(app_id).get(user_id) or ())

    def record_event(self, app_id: str, event: Event) -> None:
        table = self._events(app_id)
        events, _ = table.get_or_create(event.user_id, list)
        events.append(event)
        table.put(event.user_id, events)
        for old_app, old_user, _ in self.kept_events.add((app_id, event.user_id, self._event_numbers.next())):
            self._drop_oldest_event(old_app, old_user)

    def _drop_oldest_event(self, app_id: str, user_id: str) -> None:
        """A user's events are in the order they came, so their oldest is the first."""
        table = self._events(app_id)
        events = table.get(user_id)
        if not events:
            return
        del events[0]
        if events:
            table.put(user_id, events)
        else:
            table.delete(user_id)
