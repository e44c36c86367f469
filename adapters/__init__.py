"""Adapters: persistence, crypto, HTTP, CLI — everything that touches the world."""
