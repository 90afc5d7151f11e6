"""The concept memory: concepts with evidence and confidence, the embedder, vector indexes, retrieval,
paraphrase detection, literature seeds, export and import. Its tables live in archlab.store."""
