"""Temporary facade: re-exports the rewards services from the modules they were split into.

Every name here now lives in one module of ``rewards/`` (money, validators, notifications, ledger,
plans, editing, transitions, overview, history, reminders); import it from there. This module goes
once every caller does.
"""

from rewards.editing import (  # noqa: F401
    TERM_FIELDS,
    can_edit,
    check_editable,
    edit_plan,
)
from rewards.history import (  # noqa: F401
    MonthlyPayout,
    monthly_payouts,
    parse_period,
    payout_currencies,
    payouts_table,
)
from rewards.ledger import (  # noqa: F401
    is_overdue,
    paid_total,
    paid_totals,
    payment_due,
    plan_events,
    plan_payouts,
    planned_total,
    totals_by_currency,
)
from rewards.money import (  # noqa: F401
    NOT_MONEY,
    clean_amount_minor,
    clean_amount_text,
    clean_currency,
    currencies,
    decimal_text,
    minor_digits,
    money,
    to_decimal,
    typed_amount,
)
from rewards.notifications import (  # noqa: F401
    notify,
    queue_mail,
)
from rewards.overview import (  # noqa: F401
    PLAN_STATUS_LABELS,
    NextStep,
    PlanRow,
    approval_queue,
    approved_unpaid,
    next_step,
    plan_status,
    plan_status_label,
    plans_for_approver,
    plans_for_recipient,
    search_plans,
)
from rewards.plans import (  # noqa: F401
    MAX_MILESTONES,
    TERMS_ACTIONS,
    can_view,
    clean_milestones,
    create_plan,
    get_milestone,
    get_plan,
    plan_label,
    terms_version,
    visible_plan,
)
from rewards.reminders import (  # noqa: F401
    DECISION_REMINDER_AFTER,
    DECISION_REMINDER_UNTIL,
    OVERDUE_REMINDER_EVERY_DAYS,
    days_overdue,
    queue_decision_reminders,
    queue_overdue_reminders,
    tick,
)
from rewards.transitions import (  # noqa: F401
    ACTION_LABELS,
    ACTIONS,
    MACHINE,
    STATE_LABELS,
    Transition,
    action_label,
    agree_to_plan,
    allowed_actions,
    cancel_plan,
    perform,
    state_label,
)
from rewards.validators import (  # noqa: F401
    MAX_REFERENCE,
    MAX_TEXT,
    MAX_TITLE,
    MAX_URL,
    clean_date,
    clean_text,
    clean_url,
    clean_version,
    default_payment_terms,
    digits_value,
    join_notes,
    local_today,
    parse_terms_version,
)
