"""Access control as one table: every route × every role.

Adding a route without adding it here fails ``test_every_route_is_in_the_table``.
"""

from datetime import UTC, datetime

import pytest

from surveys import building, invitations, rounds
from tests import access_oneonones, access_rewards
from tests.conftest import PASSWORD, personal_token

ANON, EMPLOYEE, MANAGER, HR = "anonymous", "employee", "manager", "hr_admin"
LOGIN = "login"  # a redirect to the sign-in page

HTML = {
    # endpoint: (method, path, {role: expected status})
    "home.index": ("GET", "/", {ANON: LOGIN, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "people.login": ("GET", "/login", {ANON: 200, EMPLOYEE: 302, MANAGER: 302, HR: 302}),
    "people.logout": ("POST", "/logout", {ANON: 302, EMPLOYEE: 302, MANAGER: 302, HR: 302}),
    # Single sign-on is not set up in these tests: back to the sign-in page (or home, once signed in).
    "sso.start": ("GET", "/auth/oidc/login", {ANON: LOGIN, EMPLOYEE: 302, MANAGER: 302, HR: 302}),
    "sso.callback": ("GET", "/auth/oidc/callback", {ANON: LOGIN, EMPLOYEE: 302, MANAGER: 302, HR: 302}),
    "people.forgot_password": ("GET", "/login/forgot", {ANON: 200, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    # A link that sets a password is its own credential; an unknown one is a 404 for everyone.
    "people.set_password": ("GET", "/password/no-such-link-key-000000000000000",
                            {ANON: 404, EMPLOYEE: 404, MANAGER: 404, HR: 404}),
    "people.set_language": ("POST", "/language/it", {ANON: 302, EMPLOYEE: 302, MANAGER: 302, HR: 302}),
    "people.settings": ("GET", "/settings", {ANON: LOGIN, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    # Without a CSRF token (the sweep sends none) nothing is changed and the page comes back.
    "people.change_password": ("POST", "/settings/password", {ANON: LOGIN, EMPLOYEE: 422, MANAGER: 422, HR: 422}),
    "people.revoke_session": ("POST", "/settings/sessions/1/revoke",
                              {ANON: LOGIN, EMPLOYEE: 302, MANAGER: 302, HR: 302}),
    # Settings again, showing the new token once.
    "people.create_token": ("POST", "/settings/tokens", {ANON: LOGIN, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "people.revoke_token": ("POST", "/settings/tokens/1/revoke", {ANON: LOGIN, EMPLOYEE: 302, MANAGER: 302, HR: 302}),
    # The code after the password: without a pending sign-in, back to the sign-in page.
    "twofactor.verify": ("GET", "/login/two-factor", {ANON: LOGIN, EMPLOYEE: 302, MANAGER: 302, HR: 302}),
    "twofactor.setup": ("GET", "/settings/two-factor", {ANON: LOGIN, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    # Nobody here has two-factor on yet: renewing codes or turning it off goes back to the setup page.
    "twofactor.recovery_codes": ("POST", "/settings/two-factor/recovery-codes",
                                 {ANON: LOGIN, EMPLOYEE: 302, MANAGER: 302, HR: 302}),
    "twofactor.disable": ("POST", "/settings/two-factor/disable", {ANON: LOGIN, EMPLOYEE: 302, MANAGER: 302,
                                                                   HR: 302}),
    "people.people_list": ("GET", "/people", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "people.person_new": ("GET", "/people/new", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "people.person_edit": ("GET", "/people/{report}/edit", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "people.person_set_active": ("POST", "/people/{report}/active",
                                 {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 302}),
    "people.people_invite": ("POST", "/people/invite", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 302}),
    "people.person_invite": ("POST", "/people/{report}/invite", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 302}),
    "scim_admin.provisioning": ("GET", "/provisioning", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "scim_admin.create_token": ("POST", "/provisioning/tokens", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "scim_admin.revoke_token": ("POST", "/provisioning/tokens/999/revoke",
                                {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 302}),
    "people.people_import": ("GET", "/people/import", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "people.departments": ("GET", "/departments", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "surveys.survey_list": ("GET", "/surveys", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "surveys.survey_new": ("GET", "/surveys/new", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "surveys.survey_detail": ("GET", "/surveys/{survey}", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "surveys.question_add": ("POST", "/surveys/{survey}/questions",
                             {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 302}),
    "surveys.question_change": ("POST", "/surveys/{survey}/questions/{question}/up",
                                {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 302}),
    "surveys.survey_action": ("POST", "/surveys/{survey}/archive",
                              {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 302}),
    # The page that asks before opening a round (with its preview), archiving or unarchiving.
    "surveys.survey_action_confirm": ("GET", "/surveys/{survey}/open-round",
                                      {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    # The personal link is its own credential: whoever holds it sees that one survey.
    "surveys.answer": ("GET", "/s/{token}", {ANON: 200, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    # Answers post here with the token (or, signed in, the round) in the body: without either, nothing.
    "surveys.answer_submit": ("POST", "/s/answer", {ANON: 404, EMPLOYEE: 404, MANAGER: 404, HR: 404}),
    "surveys.my_answer": ("GET", "/my/surveys/{round}", {ANON: LOGIN, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "surveys.thanks": ("GET", "/s/thanks", {ANON: 200, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "surveys.my_surveys": ("GET", "/my/surveys", {ANON: LOGIN, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "dashboards.plotly_js": ("GET", "/vendor/plotly.min.js", {ANON: 200, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "dashboards.plotly_stylesheet": ("GET", "/vendor/plotly.css", {ANON: 200, EMPLOYEE: 200, MANAGER: 200,
                                                                    HR: 200}),
    "dashboards.results": ("GET", "/results", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 200, HR: 200}),
    "dashboards.export": ("GET", "/results/export.csv", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 200, HR: 200}),
    # Without confirm=yes, sharing answers with the page that asks first.
    "dashboards.share": ("POST", "/results/rounds/{round}/share", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403,
                                                                   HR: 200}),
    "dashboards.heatmap_page": ("GET", "/results/heatmap", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 200, HR: 200}),
    # The survey has no closed round yet: nothing to export.
    "dashboards.heatmap_export": ("GET", "/results/heatmap/export.csv",
                                  {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 404, HR: 404}),
    "dashboards.shared": ("GET", "/results/shared", {ANON: LOGIN, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "dashboards.methodology": ("GET", "/methodology", {ANON: LOGIN, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "replies.inbox": ("GET", "/comments", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "replies.thread": ("GET", "/comments/00000000-0000-4000-8000-000000000000",
                       {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 404}),
    "replies.reply": ("POST", "/comments/00000000-0000-4000-8000-000000000000/reply",
                      {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 404}),
    "replies.close": ("POST", "/comments/00000000-0000-4000-8000-000000000000/close",
                      {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 404}),
    "reply_link.respondent": ("GET", "/r/" + "x" * 43, {ANON: 200, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "reply_link.respondent_reply": ("POST", "/r/reply", {ANON: 404, EMPLOYEE: 404, MANAGER: 404, HR: 404}),
    "actions.index": ("GET", "/actions", {ANON: LOGIN, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "actions.new": ("GET", "/actions/new", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 200, HR: 200}),
    # No action in this table's data: a signed-in person learns only that there is none they may see.
    "actions.detail": ("GET", "/actions/999999", {ANON: LOGIN, EMPLOYEE: 404, MANAGER: 404, HR: 404}),
    "actions.edit": ("GET", "/actions/999999/edit", {ANON: LOGIN, EMPLOYEE: 404, MANAGER: 404, HR: 404}),
    "actions.post_update": ("POST", "/actions/999999/updates", {ANON: LOGIN, EMPLOYEE: 404, MANAGER: 404, HR: 404}),
    "actions.raise_in_one_on_one": ("POST", "/actions/999999/raise",
                                    {ANON: LOGIN, EMPLOYEE: 404, MANAGER: 404, HR: 404}),
    "dashboards.anonymity_doc": ("GET", "/methodology/anonymity", {ANON: LOGIN, EMPLOYEE: 200, MANAGER: 200,
                                                                       HR: 200}),
    "audit.index": ("GET", "/audit", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "audit.export": ("GET", "/audit.csv", {ANON: LOGIN, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
}

API = {
    "api.auth_token": ("POST", "/api/v1/auth/token", {ANON: 400, EMPLOYEE: 400, MANAGER: 400, HR: 400}),
    "api.departments_list": ("GET", "/api/v1/departments", {ANON: 401, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "api.departments_create": ("POST", "/api/v1/departments", {ANON: 401, EMPLOYEE: 403, MANAGER: 403, HR: 400}),
    "api.employees_list": ("GET", "/api/v1/employees", {ANON: 401, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "api.employees_upsert": ("POST", "/api/v1/employees", {ANON: 401, EMPLOYEE: 403, MANAGER: 403, HR: 400}),
    # The report can sign in already: 409.
    "api.employee_invite": ("POST", "/api/v1/employees/{report}/invite",
                            {ANON: 401, EMPLOYEE: 403, MANAGER: 403, HR: 409}),
    "api.surveys_list": ("GET", "/api/v1/surveys", {ANON: 401, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "api.surveys_create": ("POST", "/api/v1/surveys", {ANON: 401, EMPLOYEE: 403, MANAGER: 403, HR: 400}),
    "api.surveys_get": ("GET", "/api/v1/surveys/{survey}", {ANON: 401, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "api.rounds_open": ("POST", "/api/v1/surveys/{survey}/rounds", {ANON: 401, EMPLOYEE: 403, MANAGER: 403,
                                                                    HR: 409}),
    "api.my_invitations": ("GET", "/api/v1/me/invitations", {ANON: 401, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "api.responses_create": ("POST", "/api/v1/rounds/{round}/responses",
                             {ANON: 401, EMPLOYEE: 400, MANAGER: 400, HR: 400}),
    "api.round_results": ("GET", "/api/v1/rounds/{round}/results", {ANON: 401, EMPLOYEE: 403, MANAGER: 403,
                                                                     HR: 200}),
    "api.survey_trend": ("GET", "/api/v1/surveys/{survey}/trend", {ANON: 401, EMPLOYEE: 403, MANAGER: 403, HR: 200}),
    "api.actions_list": ("GET", "/api/v1/actions", {ANON: 401, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
    "api.actions_create": ("POST", "/api/v1/actions", {ANON: 401, EMPLOYEE: 400, MANAGER: 400, HR: 400}),
    "api.actions_get": ("GET", "/api/v1/actions/999999", {ANON: 401, EMPLOYEE: 404, MANAGER: 404, HR: 404}),
    "api.actions_patch": ("PATCH", "/api/v1/actions/999999", {ANON: 401, EMPLOYEE: 400, MANAGER: 400, HR: 400}),
    # No closed round yet: HR and managers get a 404, anyone else a 403 before that.
    "api.survey_heatmap": ("GET", "/api/v1/surveys/{survey}/heatmap",
                           {ANON: 401, EMPLOYEE: 403, MANAGER: 404, HR: 404}),
    "api.openapi": ("GET", "/api/v1/openapi.json", {ANON: 200, EMPLOYEE: 200, MANAGER: 200, HR: 200}),
}

# SCIM takes only its own bearer tokens (``scim token create``; tests/test_scim.py): a session or an API
# token opens nothing there.
NOBODY = {ANON: 401, EMPLOYEE: 401, MANAGER: 401, HR: 401}
SCIM = {
    "scim.user_list": ("GET", "/scim/v2/Users", NOBODY),
    "scim.user_create": ("POST", "/scim/v2/Users", NOBODY),
    "scim.user_search": ("POST", "/scim/v2/Users/.search", NOBODY),
    "scim.user": ("GET", "/scim/v2/Users/{report}", NOBODY),
    "scim.user_replace": ("PUT", "/scim/v2/Users/{report}", NOBODY),
    "scim.user_patch": ("PATCH", "/scim/v2/Users/{report}", NOBODY),
    "scim.user_delete": ("DELETE", "/scim/v2/Users/{report}", NOBODY),
    "scim.service_provider_config": ("GET", "/scim/v2/ServiceProviderConfig", NOBODY),
    "scim.resource_types": ("GET", "/scim/v2/ResourceTypes", NOBODY),
    "scim.resource_type": ("GET", "/scim/v2/ResourceTypes/User", NOBODY),
    "scim.schemas": ("GET", "/scim/v2/Schemas", NOBODY),
    "scim.schema": ("GET", "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", NOBODY),
    "scim.elsewhere": ("GET", "/scim/v2/Groups", NOBODY),
}

TABLE = {**HTML, **API, **SCIM, **access_oneonones.TABLE, **access_rewards.TABLE}
CASES = [(endpoint, role) for endpoint, (_m, _p, expected) in TABLE.items() for role in expected]


@pytest.fixture
def people(factory):
    manager = factory.person("manager@example.com")
    return {
        HR: factory.person("hr@example.com", role="hr_admin"),
        MANAGER: manager,
        EMPLOYEE: factory.person("employee@example.com", manager=manager),
    }


@pytest.fixture
def ids(people, factory):
    """The objects the paths name: a survey with an open round the employee is invited to."""
    now = datetime.now(UTC)
    survey = building.create_survey({"title": "Pulse", "cadence": "weekly", "questions": [
        {"library_key": "enps"}, {"kind": "text", "text": "Anything else?"}]}, now)
    round_ = rounds.open_round_now(survey, now)
    invitation = invitations.invitation_for(people[EMPLOYEE], round_.id)
    return {"report": people[EMPLOYEE].id, "survey": survey.id, "question": survey.questions[1].id,
            "round": round_.id, "token": personal_token(invitation.id),
            **access_oneonones.make_ids(people, factory), **access_rewards.make_ids(people, factory)}


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert endpoints == set(TABLE)


@pytest.mark.parametrize(("endpoint", "role"), CASES)
def test_access(client, people, ids, endpoint, role):
    method, path, expected = TABLE[endpoint]
    path = path.format(**ids)
    headers = {}
    if role != ANON:
        email = people[role].email
        if endpoint.startswith("api."):
            token = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
            headers["Authorization"] = f"Bearer {token.get_json()['token']}"
        else:
            assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    response = client.open(path, method=method, headers=headers, data="" if method == "POST" else None)
    want = expected[role]
    if want == LOGIN:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    else:
        assert response.status_code == want, response.data[:300]
