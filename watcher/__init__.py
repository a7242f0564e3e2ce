"""huabei-watch: the watcher side (sources that observe and publish signals) and the shared contract."""

__version__ = "0.1.0"
