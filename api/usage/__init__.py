"""Usage history, the credit ledger and the admin summary over HTTP."""
