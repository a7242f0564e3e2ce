"""The cashier consumer."""
