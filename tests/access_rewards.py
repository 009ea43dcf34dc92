"""Access-table rows for milestone reward routes; merged into tests/test_access.py.

``TABLE`` maps endpoint → (method, path with {placeholders}, {role: expected status or "login"}).
``make_ids(people, factory)`` creates what the paths name and returns the placeholder values;
``people`` has keys "employee" (a report of "manager"), "manager" and "hr_admin".
"""

TABLE = {
    "rewards.index": ("GET", "/rewards", {"anonymous": "login", "employee": 200, "manager": 200,
                                          "hr_admin": 200}),
}


def make_ids(people, factory) -> dict:
    return {}
