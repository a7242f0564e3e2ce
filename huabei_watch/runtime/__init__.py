"""The daemon's process runtime: broker, bus, database, scheduler, admin server, roles."""
