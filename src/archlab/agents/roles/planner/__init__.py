"""The planner role: `offline.py` (no LLM) and `llm.py` (an OpenAI-compatible endpoint)."""
