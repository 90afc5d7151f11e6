"""The LLM roles' prompt templates (Jinja, rendered by archlab.agents.llm.prompts with StrictUndefined)."""
