"""Channel adapters: one module per provider, each doing one send attempt through its real API.

What every adapter promises is in :mod:`consumers.notify.channels.base`; the factory that builds
them from configuration is :func:`consumers.notify.channels.config.build_channels`.
"""

from consumers.notify.channels.base import Channel, OutboundMessage, SendReceipt

__all__ = ["Channel", "OutboundMessage", "SendReceipt"]
