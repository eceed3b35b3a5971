"""The simulated device gateway (APNs, FCM, web push): latency, failures, retries, token marks.

    fake.gateway.set_latency(LogNormal(median=0.05, p99=0.4), platform="fcm")
    fake.gateway.fail_next(3, "UNAVAILABLE", token=registration_id)
    fake.gateway.add_outage("apns", start="+10s", end="+70s")
"""

from pushfake.core.latency import Fixed, LogNormal, Uniform
from pushfake.gateway.config import GatewayConfig, RetryPolicy
from pushfake.gateway.engine import Gateway
from pushfake.gateway.platforms import PLATFORMS, Outcome, wire_payload

__all__ = ["PLATFORMS", "Fixed", "Gateway", "GatewayConfig", "LogNormal", "Outcome", "RetryPolicy",
           "Uniform", "wire_payload"]
