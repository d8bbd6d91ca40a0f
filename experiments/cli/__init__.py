"""The `qshock` command line: one module per command, problem building and safe expressions."""
