"""The chat domain: one flat module per feature, shared by socket events and HTTP routes.

Nothing here knows Socket.IO: an operation validates, writes, returns a value (or a
``Failure``), and queues what the connections must hear in the outbox, which the caller
flushes once the write is committed (``outbox.py``).
"""
