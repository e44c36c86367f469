"""SQLAlchemy Core: the engine and the tables that are not event-store tables."""
