"""Importing .xlsx and .csv files into an event's participants or an account's contacts."""
