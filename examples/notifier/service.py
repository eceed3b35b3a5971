"""What the shop tells its customers, and through which vendor.

An order update is for one customer, so it goes through Leanplum's `sendMessage` (one user,
every device of theirs). A sale is for a segment of customers, so it goes through D·engage's
SendInstantPush, which sends to a segment or a table, not to one contact."""

from __future__ import annotations

import logging

from notifier.dengage_client import DengageClient
from notifier.leanplum_client import LeanplumClient

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, leanplum: LeanplumClient, dengage: DengageClient, *, shipped_message_id: int,
                 sale_template_id: str) -> None:
        self.leanplum = leanplum
        self.dengage = dengage
        self.shipped_message_id = shipped_message_id
        self.sale_template_id = sale_template_id

    def order_shipped(self, user_id: str, order_id: str) -> bool:
        """Push "your order shipped" to the customer's devices; False if Leanplum reached none
        (unknown customer, or no device that takes pushes), which is not an error for the order."""
        sent = self.leanplum.send_message(user_id, self.shipped_message_id, values={"order": order_id})
        if not sent.messages_sent:
            log.info("order %s shipped: no push for %s (%s)", order_id, user_id, sent.warning or "no device")
        return sent.messages_sent > 0

    def announce_sale(self, segment_id: str) -> str:
        """Push the sale template to a segment; the tracking id of the send."""
        return self.dengage.send_instant_push(template_id=self.sale_template_id, segment_id=segment_id)
