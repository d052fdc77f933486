"""The ground floor: settings, database engine, encryption, redaction, logging and the
Temporal connection. Imports nothing of ours but `models`."""
