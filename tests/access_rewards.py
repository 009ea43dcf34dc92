"""Access-table rows for milestone reward routes; merged into tests/test_access.py.

``TABLE`` maps endpoint → (method, path with {placeholders}, {role: expected status or "login"}).
``make_ids(people, factory)`` creates what the paths name and returns the placeholder values;
``people`` has keys "employee" (a report of "manager"), "manager" and "hr_admin".

The plan made here has the employee as recipient and their manager as approver; milestone 1 is
agreed, milestone 2 a draft. POSTs carry an empty body, so the recipient's submit is refused for
its missing evidence (422) after passing the access checks, while anyone else is refused (403).
A second plan (``reward_draft``) nobody has agreed to yet can be edited by HR; editing the first
is refused because its terms are locked (409). The edit PUT carries no body either: HR gets 400.
"""

from datetime import UTC, datetime, timedelta

ANON, EMPLOYEE, MANAGER, HR = "anonymous", "employee", "manager", "hr_admin"

TABLE = {
    "rewards.index": ("GET", "/rewards", {ANON: "login", EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "rewards.approvals": ("GET", "/rewards/approvals", {ANON: "login", EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "rewards.overview": ("GET", "/rewards/overview", {ANON: "login", EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "rewards.plan_new": ("GET", "/rewards/plans/new", {ANON: "login", EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "rewards.plan_detail": ("GET", "/rewards/plans/{reward_plan}",
                            {ANON: "login", EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "rewards.milestone_action": ("POST", "/rewards/milestones/{reward_agreed}/submit",
                                 {ANON: "login", EMPLOYEE: 422, MANAGER: 403, HR: 403}),
    "rewards.plan_agree": ("POST", "/rewards/plans/{reward_plan}/agree",
                           {ANON: "login", EMPLOYEE: 302, MANAGER: 302, HR: 403}),
    "rewards.plan_cancel": ("POST", "/rewards/plans/{reward_plan}/cancel",
                            {ANON: "login", EMPLOYEE: 403, MANAGER: 403, HR: 302}),
    "rewards.plan_edit": ("GET", "/rewards/plans/{reward_draft}/edit",
                          {ANON: "login", EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "rewards.history": ("GET", "/rewards/history", {ANON: "login", EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "rewards.payouts_csv": ("GET", "/rewards/payouts.csv", {ANON: "login", EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "api.milestone_plans_create": ("POST", "/api/v1/milestone-plans",
                                   {ANON: 401, EMPLOYEE: 403, MANAGER: 403, HR: 400}),
    "api.milestone_plans_list": ("GET", "/api/v1/milestone-plans", {ANON: 401, EMPLOYEE: 200, MANAGER: 200,
                                                                    HR: 200}),
    "api.milestone_plans_get": ("GET", "/api/v1/milestone-plans/{reward_plan}",
                                {ANON: 401, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "api.milestone_plans_edit": ("PUT", "/api/v1/milestone-plans/{reward_draft}/milestones",
                                 {ANON: 401, EMPLOYEE: 403, MANAGER: 403, HR: 400}),
    "api.milestone_action": ("POST", "/api/v1/milestones/{reward_agreed}/submit",
                             {ANON: 401, EMPLOYEE: 422, MANAGER: 403, HR: 403}),
}


def make_ids(people, factory) -> dict:
    from rewards import plans, transitions

    now = datetime.now(UTC)
    # A month ahead: the plan starts on today in HR's time zone, which is a day ahead of UTC's date late at night.
    due = (now + timedelta(days=30)).date().isoformat()
    plan = plans.create_plan({
        "recipient_email": people[EMPLOYEE].email, "approver_email": people[MANAGER].email, "currency": "EUR",
        "milestones": [
            {"title": "Ship the beta", "criteria": "Beta live for 50 users", "amount_minor": 100000,
             "due_on": due},
            {"title": "Ship 1.0", "criteria": "1.0 live", "amount_minor": 200000, "due_on": due},
        ]}, people[HR], now)
    first = plan.milestones[0]
    transitions.perform(first.id, "agree", people[EMPLOYEE], {}, now)
    transitions.perform(first.id, "agree", people[MANAGER], {}, now)
    draft = plans.create_plan({
        "recipient_email": people[EMPLOYEE].email, "approver_email": people[MANAGER].email, "currency": "EUR",
        "milestones": [{"title": "Write the docs", "criteria": "Docs published", "amount_minor": 50000,
                        "due_on": due}]}, people[HR], now)
    return {"reward_plan": plan.id, "reward_agreed": first.id, "reward_draft": draft.id}
