"""Milestone rewards: plans, approvals, sequential payouts on an append-only ledger."""
