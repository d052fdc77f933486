"""The case store: migrations, the roster seed, principals and the writes of case steps."""
