"""Forms for one-on-one pages. They check shapes; the rules (who, when, overlaps) are in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from oneonones.models import MAX_DURATION, MAX_ITEM_LENGTH, MAX_NOTE_LENGTH, MIN_DURATION


def cadence_choices():
    return [SelectChoice("weekly", _l("Every week")), SelectChoice("biweekly", _l("Every two weeks")),
            SelectChoice("monthly", _l("Every month (same weekday, e.g. the second Tuesday)"))]


class ScheduleForm(FlaskForm):
    cadence = SelectField(_l("How often"), choices=cadence_choices, default="biweekly")
    starts_on = DateField(_l("First meeting on"), validators=[InputRequired()])
    start_time = TimeField(_l("At"), validators=[InputRequired()])
    duration_minutes = IntegerField(_l("Length in minutes"), default=60,
                                    validators=[InputRequired(), NumberRange(MIN_DURATION, MAX_DURATION)])
    timezone = StringField(_l("Time zone"), validators=[InputRequired(), Length(max=64)])
    submit = SubmitField(_l("Save"))

    def to_data(self) -> dict:
        return {"cadence": self.cadence.data, "starts_on": self.starts_on.data, "start_time": self.start_time.data,
                "duration_minutes": self.duration_minutes.data, "timezone": (self.timezone.data or "").strip()}


class NewSeriesForm(ScheduleForm):
    report_id = SelectField(_l("With"), coerce=int)
    submit = SubmitField(_l("Schedule"))

    def to_data(self) -> dict:
        return {**super().to_data(), "report_id": self.report_id.data}


class MoveForm(FlaskForm):
    starts_on = DateField(_l("New date"), validators=[InputRequired()])
    start_time = TimeField(_l("New time"), validators=[InputRequired()])
    duration_minutes = IntegerField(_l("Length in minutes"),
                                    validators=[InputRequired(), NumberRange(MIN_DURATION, MAX_DURATION)])
    submit = SubmitField(_l("Move this meeting"))

    def to_data(self) -> dict:
        return {"starts_on": self.starts_on.data, "start_time": self.start_time.data,
                "duration_minutes": self.duration_minutes.data}


class AgendaForm(FlaskForm):
    text = StringField(_l("New agenda item"), validators=[InputRequired(), Length(max=MAX_ITEM_LENGTH)])
    submit = SubmitField(_l("Add to the agenda"))


class ActionForm(FlaskForm):
    text = StringField(_l("Action item"), validators=[InputRequired(), Length(max=MAX_ITEM_LENGTH)])
    owner_id = SelectField(_l("Owner"), coerce=int)
    due_on = DateField(_l("Due on (optional)"), validators=[Optional()])
    submit = SubmitField(_l("Add action item"))

    def to_data(self) -> dict:
        return {"text": self.text.data, "owner_id": self.owner_id.data, "due_on": self.due_on.data}


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Note for yourself"), validators=[Optional(), Length(max=MAX_NOTE_LENGTH)])
    submit = SubmitField(_l("Save note"))
