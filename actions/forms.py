"""Forms for planning, changing and updating an action.

They collect text and hand ``actions.services`` the API's fields (``to_data``); the services check
every rule, so the pages and the API refuse alike. The group is one choice: the company, a
department or a team (``department:<id>``, ``team:<id>``).
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from actions.models import MAX_TEXT, MAX_TITLE, STATUSES
from inputs import form_int

STATUS_LABELS = {"planned": _l("Planned"), "in_progress": _l("In progress"), "done": _l("Done"),
                 "dropped": _l("Dropped")}
STATUS_CHOICES = [SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES]


def group_data(choice: str | None) -> dict:
    kind, _sep, key = (choice or "").partition(":")
    if kind == "department":
        return {"department_id": form_int(key)}
    if kind == "team":
        return {"manager_id": form_int(key)}
    return {}


class ActionForm(FlaskForm):
    survey = HiddenField()
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=MAX_TITLE)])
    description = TextAreaField(_l("What will change"), validators=[Optional(), Length(max=MAX_TEXT)],
                                render_kw={"rows": 4})
    question = SelectField(_l("Driver"), validate_choice=False)
    group = SelectField(_l("For"), validate_choice=False)
    owner_email = EmailField(_l("Owner's e-mail"), validators=[InputRequired(), Length(max=254)],
                             render_kw={"autocomplete": "off"})
    due_on = DateField(_l("Due date"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=STATUS_CHOICES, default="planned")
    submit = SubmitField(_l("Plan the action"))

    def to_data(self) -> dict:
        return {"title": self.title.data, "description": self.description.data, "survey_id": form_int(self.survey.data),
                "question_id": form_int(self.question.data), **group_data(self.group.data),
                "owner_email": self.owner_email.data, "due_on": self.due_on.data, "status": self.status.data}


class EditForm(FlaskForm):
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=MAX_TITLE)])
    description = TextAreaField(_l("What will change"), validators=[Optional(), Length(max=MAX_TEXT)],
                                render_kw={"rows": 4})
    owner_email = EmailField(_l("Owner's e-mail"), validators=[InputRequired(), Length(max=254)],
                             render_kw={"autocomplete": "off"})
    due_on = DateField(_l("Due date"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=STATUS_CHOICES)
    submit = SubmitField(_l("Save"))

    def to_data(self) -> dict:
        return {"title": self.title.data, "description": self.description.data or "",
                "owner_email": self.owner_email.data, "due_on": self.due_on.data, "status": self.status.data}


class UpdateForm(FlaskForm):
    note = TextAreaField(_l("Update"), validators=[Optional(), Length(max=MAX_TEXT)], render_kw={"rows": 3})
    status = SelectField(_l("Status"), choices=STATUS_CHOICES)
    submit = SubmitField(_l("Post the update"))

    def to_data(self) -> dict:
        return {"note": self.note.data, "status": self.status.data}
