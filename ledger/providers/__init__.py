"""Payment-provider clients and the port the ledger talks to."""
