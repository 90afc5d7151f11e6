"""The LLM side of the agents: settings, the OpenAI-compatible client, strict prompt rendering."""
