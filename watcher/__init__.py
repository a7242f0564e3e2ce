"""The watcher role: sources that observe (announcements, health probes, payment results, the
synthetic pre-order probe, plugin compatibility) and publish signals. Never imports ``consumers``."""
