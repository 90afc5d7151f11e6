"""Evaluation inside a run: the evaluate node, stages through the sandbox, the cascade, candidates in flight."""
