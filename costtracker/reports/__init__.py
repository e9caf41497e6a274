"""Reports: what the ledger says, shaped for people (terminal, pages, e-mail, PDF)."""
