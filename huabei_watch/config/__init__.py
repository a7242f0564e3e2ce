"""Configuration loading: one TOML file plus ``HUABEI_WATCH_*`` overrides (:mod:`.loader`), the
shared sections (:mod:`.settings`) and value types (:mod:`.types`). The whole file's model is the
composition root's :class:`huabei_watch.root.settings.Settings`."""
