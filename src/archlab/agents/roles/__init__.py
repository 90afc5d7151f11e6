"""The agent roles, each with its offline form and its LLM form side by side."""
