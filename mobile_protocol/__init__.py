"""The native sync protocol, version 1: its spec (``PROTOCOL.md``), its JSON Schemas
(``schemas/``, loaded by :mod:`mobile_protocol.schemas`) and a reference device client
(:mod:`mobile_protocol.client`). Imports neither Flask nor ``sfa``."""
