"""Milestone plans, milestones, their events and the payouts ledger."""
