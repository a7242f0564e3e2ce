"""The notify consumer."""
