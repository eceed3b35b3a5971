"""D·engage records in the store, one set of tables per account; also the inspection API."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from pushfake.core.store import Store, Table
from pushfake.dengage.models import AccessToken, Account, Contact, PushDevice, Send


class DengageState:
    def __init__(self, store: Store) -> None:
        self._store = store

    def transaction(self) -> AbstractContextManager[Any]:
        return self._store.transaction()

    def _accounts(self) -> Table[Account]:
        return self._store.table("dengage", "accounts")

    def contacts(self, account_id: str) -> Table[Contact]:
        return self._store.table("dengage", account_id, "contacts")

    def devices(self, account_id: str) -> Table[PushDevice]:
        return self._store.table("dengage", account_id, "devices")

    def sends(self, account_id: str) -> Table[Send]:
        return self._store.table("dengage", account_id, "sends")

    def tokens(self) -> Table[AccessToken]:
        return self._store.table("dengage", "tokens")

    def account(self, account_id: str) -> Account | None:
        return self._accounts().get(account_id)

    def accounts(self) -> list[Account]:
        return list(self._accounts().values())

    def put_account(self, account: Account) -> None:
        self._accounts().put(account.id, account)

    def account_of_user(self, userkey: str) -> Account | None:
        return next((a for a in self._accounts().values() if userkey in a.api_users), None)

    def put_contact(self, account_id: str, contact: Contact) -> None:
        self.contacts(account_id).put(contact.key, contact)

    def put_device(self, account_id: str, device: PushDevice) -> None:
        self.devices(account_id).put(device.id, device)

    def send(self, account_id: str, tracking_id: str) -> Send | None:
        """The send with this tracking id; UUIDs compare without regard to case."""
        return self.sends(account_id).get(tracking_id.lower())

    def put_send(self, send: Send) -> None:
        self.sends(send.account_id).put(send.tracking_id.lower(), send)
