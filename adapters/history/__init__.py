"""The history export: the event log as NDJSON or Parquet, decoded, erased data shredded."""
