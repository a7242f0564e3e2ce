"""Cashier switch: desired Huabei state per merchant, hysteresis, fail-open expiry, policy JSON.

Import from the modules (``consumers.cashier.settings``, ...): this package imports nothing, so
the settings model every process validates does not load the role's engine (issue 17, memory)."""
