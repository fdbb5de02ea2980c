"""The WatermelonDB-compatible endpoint: a translation over the native sync engine.

``schema`` says which tables and columns a WatermelonDB app holds and how each value travels;
``records`` converts between those raw records and the engine's wire records; ``checkpoints``
maps WatermelonDB's integer ``timestamp`` to the engine's cursors; ``pull`` and ``push`` run
the engine and translate its answers. Nothing here decides scope, permissions or conflicts.
"""
