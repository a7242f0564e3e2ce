"""huabei-watch: what every role shares (the event contract, Kafka, the database, config loading,
the merchant registry, the runtime) and, in :mod:`huabei_watch.root`, the composition root.

The framework (everything here but ``root``) never imports a role; the roles (``watcher``,
``consumers``) import the framework; only ``huabei_watch.root`` imports the roles.
"""

__version__ = "0.1.0"
