"""The HTTP edge: thin routes over the ledger, problem+json errors, bearer tokens."""
