"""Temporary facade while callers move to the modules that own each rule (issue 14)."""

from errors import Conflict, NotFound, ValidationError  # noqa: F401
from extensions import db  # noqa: F401
from surveys.answering import submit_response, validate_answers  # noqa: F401
from surveys.building import (  # noqa: F401
    add_question,
    archive_survey,
    clean_questions,
    create_survey,
    get_survey,
    has_rounds,
    library,
    list_surveys,
    move_question,
    recent_rounds,
    remove_question,
    surveys_visible_to,
    update_survey,
)
from surveys.invitations import invitation_for, open_invitations, queue_invitation_mail  # noqa: F401
from surveys.models import Round, Survey  # noqa: F401
from surveys.periodic import TickReport, tick  # noqa: F401
from surveys.rounds import (  # noqa: F401
    audience,
    check_audience_apart,
    department_subtree,
    forget_answering_order,
    mix_ballots,
    open_round_now,
)
from surveys.schedule import due_occurrence, occurrence, window  # noqa: F401
