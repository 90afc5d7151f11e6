"""The store's schema history (Alembic). `python -m archlab.store.migrations "what changed"` writes
a new revision from the difference between the models and the newest revision; review it, then
every store is upgraded the next time it is opened."""
