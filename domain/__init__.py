"""The write model: aggregates, their events and the rules that decide them."""
