"""Cashier switch: desired Huabei state per merchant, hysteresis, fail-open expiry, policy JSON."""

from consumers.cashier.alipay_params import NoPayChannelLeft, apply_policy
from consumers.cashier.model import CashierState, Change, Desired, Mode
from consumers.cashier.policy import PolicyView, Reconciler, desired_channels, effective, etag
from consumers.cashier.settings import CashierSettings

__all__ = [
    "CashierSettings", "CashierState", "Change", "Desired", "Mode", "NoPayChannelLeft", "PolicyView",
    "Reconciler", "apply_policy", "desired_channels", "effective", "etag",
]
