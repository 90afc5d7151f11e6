"""The command line: one module per command group. The only code that prints or configures logging."""
