"""The composition root: the only code that names every role.

Root settings (every section, cross-section checks), the role registry and daemon, the CLI, the
status page, and the schema (every role's tables on the one metadata).
"""
