"""What is left of the old facade, for callers that are not ours to edit or that others are editing now.

``people/views.py`` imports ``open_invitations``; the committed ``api/surveys.py`` and
``dashboards/views.py`` still use the rest. Everything else imports the module that owns each rule;
delete this file once those imports point at ``surveys.invitations``, ``surveys.building`` and so on.
"""

from surveys.answering import submit_response  # noqa: F401
from surveys.building import create_survey, get_survey, recent_rounds, surveys_visible_to  # noqa: F401
from surveys.invitations import invitation_for, open_invitations  # noqa: F401
from surveys.rounds import open_round_now  # noqa: F401
