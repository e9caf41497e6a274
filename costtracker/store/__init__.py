"""The ledger: models, exact money types, queries and migrations."""
