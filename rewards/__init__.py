"""Milestone rewards: plans, approvals, sequential payouts on an append-only ledger.

One module per job; each imports only the ones listed before it (and the models), never one after:

- ``money``: currencies and amounts in minor units, as stored, shown and typed;
- ``validators``: readers of one request field each, and the defaults they fall back on;
- ``notifications``: the e-mail a change queues in the outbox;
- ``ledger``: paid and planned totals from the payouts ledger, and when a payment falls due;
- ``plans``: creating a plan, finding it, who may see it, the version of its terms;
- ``editing``: HR's corrections to a plan's terms before anyone agrees;
- ``transitions``: the state machine (agree, submit, approve, request changes, pay, cancel);
- ``overview``: what each person sees (their plans, the next step, the approver's queue, HR's list);
- ``payout_history``: payouts per month for the chart, and the ledger as CSV;
- ``reminders``: the periodic work ``tasks.tick`` runs.

``forms`` may import ``money`` and ``validators`` only; ``views``, ``charts`` and ``api.rewards``
sit on top and only parse, call one of these, and render.
"""
