"""The reference models' sources. They run in the sandbox like any candidate; the host only reads them."""
