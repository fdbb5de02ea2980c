"""The ERP feed as configured: which adapter, with which retry settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sfa.erp.adapters.base import Adapter
from sfa.erp.dispatcher import DispatchSettings

ADAPTERS = ("webhook", "amqp", "pull")


def dispatch_settings(config: Mapping[str, Any]) -> DispatchSettings:
    return DispatchSettings(
        max_attempts=int(config["ERP_MAX_ATTEMPTS"]),
        backoff_base=float(config["ERP_BACKOFF_BASE_SECONDS"]),
        backoff_max=float(config["ERP_BACKOFF_MAX_SECONDS"]),
        lease_seconds=int(config["ERP_LEASE_SECONDS"]),
        batch=int(config["ERP_DISPATCH_BATCH"]),
        threads=int(config["ERP_DISPATCH_THREADS"]),
        poll_seconds=float(config["ERP_POLL_SECONDS"]),
    )


def adapter_factory(config: Mapping[str, Any]) -> Callable[[], Adapter] | None:
    """A maker of adapters (one per dispatcher thread), or None for the pull feed, where the
    ERP fetches events itself. Raises ValueError for a configuration that cannot work."""
    kind = config["ERP_ADAPTER"]
    if kind not in ADAPTERS:
        raise ValueError(f"SFA_ERP_ADAPTER must be one of {', '.join(ADAPTERS)}, not {kind!r}")
    if kind == "pull":
        return None
    if kind == "webhook":
        from sfa.erp.adapters import webhook

        webhook.from_config(config)  # fail now, not in a worker thread, if misconfigured
        return lambda: webhook.from_config(config)
    from sfa.erp.adapters import amqp  # pika is an optional extra

    return lambda: amqp.from_config(config)
