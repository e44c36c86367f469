"""Read models: rows and the pure functions that build them from domain events."""
