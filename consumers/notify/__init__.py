"""Notify consumer: plan messages from incidents, deliver them once per channel."""
