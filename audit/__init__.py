"""The audit log: an append-only record of who did what, when and from which address.

- ``models``: ``AuditEvent``, one row per thing done; the database refuses UPDATE and DELETE on it;
- ``services``: :func:`record`, which adds a row to the caller's transaction, and the known actions
  with their labels;
- ``reading``: HR's filters over the log, a page of it, and the same rows as a CSV table;
- ``views``: the HR page ``/audit`` and its export ``/audit.csv``.

It never records survey answers or private notes: a summary names what was acted on (ids, names,
titles, states), never what someone wrote.
"""

from audit.services import record

__all__ = ["record"]
