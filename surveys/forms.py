"""Forms for HR's survey builder, and the answer page's fields as typed answers.

Answers have no form class, since a survey's questions are only known at run time:
``answers_from_form`` gives the service what the API would send, and the service reads both.
"""

from collections.abc import Mapping, Sequence

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from inputs import form_int
from surveys.models import Question


def cadence_choices():
    return [SelectChoice("weekly", _l("Weekly")), SelectChoice("biweekly", _l("Every two weeks")),
            SelectChoice("monthly", _l("Monthly")), SelectChoice("quarterly", _l("Quarterly")),
            SelectChoice("once", _l("Once"))]


def kind_choices():
    return [SelectChoice("likert", _l("Agreement, 1 to 5")), SelectChoice("enps", _l("eNPS, 0 to 10")),
            SelectChoice("choice", _l("One of several options")), SelectChoice("text", _l("Free comment"))]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SurveySettingsForm(FlaskForm):
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    cadence = SelectField(_l("How often"), choices=cadence_choices, default="weekly")
    starts_on = DateField(_l("First round on"), validators=[InputRequired()])
    open_days = IntegerField(_l("Days each round stays open"), default=5,
                             validators=[InputRequired(), NumberRange(1, 28)])
    remind_days_before_close = IntegerField(_l("Reminder, days before closing (0 for none)"), default=2,
                                            validators=[InputRequired(), NumberRange(0, 27)])
    audience_department_id = SelectField(_l("Who is asked"), coerce=int, default=0)
    min_group_size = IntegerField(_l("Minimum group size shown in results"), default=5,
                                  validators=[InputRequired(), NumberRange(3, 10)])
    library_keys = MultiCheckboxField(_l("Questions from the library"))
    submit = SubmitField(_l("Save"))

    def to_data(self) -> dict:
        return {
            "title": self.title.data, "cadence": self.cadence.data, "starts_on": self.starts_on.data,
            "open_days": self.open_days.data, "remind_days_before_close": self.remind_days_before_close.data,
            "audience_department_id": self.audience_department_id.data or None,
            "min_group_size": self.min_group_size.data,
        }


class QuestionForm(FlaskForm):
    kind = SelectField(_l("Kind of answer"), choices=kind_choices, default="likert")
    text = StringField(_l("Question"), validators=[InputRequired(), Length(max=300)])
    text_it = StringField(_l("Question in Italian (optional)"), validators=[Optional(), Length(max=300)])
    options = TextAreaField(_l("Options, one per line (choice questions only)"), validators=[Optional()])
    required = BooleanField(_l("An answer is required"))
    submit = SubmitField(_l("Add question"))

    def to_data(self) -> dict:
        options = [line.strip() for line in (self.options.data or "").splitlines() if line.strip()]
        return {"kind": self.kind.data, "text": self.text.data, "text_it": self.text_it.data or None,
                "options": options or None, "required": self.required.data}


class LibraryPickForm(FlaskForm):
    library_key = SelectField(_l("Question from the library"))
    required = BooleanField(_l("An answer is required"))
    submit = SubmitField(_l("Add from library"))


def answers_from_form(questions: Sequence[Question], formdata: Mapping[str, str]) -> dict[int, int | str]:
    """The answer page's fields (``q<question id>``) as the API sends answers: question id → value.

    Scale answers (eNPS, Likert) become ints where their text is a whole number (``inputs.form_int``);
    choices and comments stay text. ``answering.validate_answers`` then reads both alike.
    """
    scales = {q.id for q in questions if q.kind in ("enps", "likert")}
    answers: dict[int, int | str] = {}
    for key, value in formdata.items():
        digits = key[1:]
        if key.startswith("q") and digits.isascii() and digits.isdigit() and len(digits) <= 12:
            question_id = int(digits)
            answers[question_id] = form_int(value) if question_id in scales else value
    return answers
