"""The periodic work behind ``flask pulses tick``: every feature's due work, then the outbox.

Each step is idempotent and claims its work with conditional writes, so cron
may run this on several hosts at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mail import services as mail
from oneonones import services as oneonones
from rewards import services as rewards
from surveys import services as surveys


@dataclass
class TickSummary:
    pulses: surveys.TickReport
    oneonones: dict[str, int]
    rewards: dict[str, int]
    mail: Any


def tick(now: datetime) -> TickSummary:
    """Run all periodic work due at ``now``; e-mail queued by any step goes out at the end."""
    pulses = surveys.tick(now, send_mail=False)
    return TickSummary(pulses=pulses, oneonones=oneonones.tick(now), rewards=rewards.tick(now),
                       mail=mail.send_all_pending(now))
