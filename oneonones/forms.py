"""Forms for one-on-one pages: the fields a page shows and sends.

Each ``to_data`` hands the service what the API would send: number fields as ints
(``inputs.form_int``), the rest as text. The services read every value (``oneonones.reading``
and the readers of ``inputs``) the same way from both, so the forms check nothing themselves
and a rule is never written twice; their errors come back from the services, by field.
"""

from collections.abc import Mapping
from datetime import date, time

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.widgets import DateInput, NumberInput, TimeInput

from inputs import form_int
from oneonones.models import MAX_DURATION, MAX_ITEM_LENGTH, MAX_NOTE_LENGTH, MIN_DURATION


class TextField(StringField):
    """Text as sent, shown back as sent; a date or time set by a view is shown as its input expects."""

    def _value(self) -> str:
        if isinstance(self.data, time):
            return self.data.strftime("%H:%M")
        if isinstance(self.data, date):
            return self.data.isoformat()
        return "" if self.data is None else str(self.data)


class ChoiceField(SelectField):
    """A select whose value the service reads: an unknown one is the service's field error, not the form's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, coerce=str, validate_choice=False, **kwargs)


def cadence_choices():
    return [SelectChoice("weekly", _l("Every week")), SelectChoice("biweekly", _l("Every two weeks")),
            SelectChoice("monthly", _l("Every month (same weekday, e.g. the second Tuesday)"))]


REQUIRED = {"required": True}  # for the browser and assistive technology; the service refuses what is missing


def _minutes(label):
    return TextField(label, widget=NumberInput(min=MIN_DURATION, max=MAX_DURATION), render_kw=REQUIRED)


class ScheduleForm(FlaskForm):
    cadence = ChoiceField(_l("How often"), choices=cadence_choices, default="biweekly")
    starts_on = TextField(_l("First meeting on"), widget=DateInput(), render_kw=REQUIRED)
    start_time = TextField(_l("At"), widget=TimeInput(), render_kw=REQUIRED)
    duration_minutes = _minutes(_l("Length in minutes"))
    timezone = TextField(_l("Time zone"), render_kw={**REQUIRED, "maxlength": 64})
    submit = SubmitField(_l("Save"))

    def to_data(self) -> dict:
        return {"cadence": self.cadence.data, "starts_on": self.starts_on.data, "start_time": self.start_time.data,
                "duration_minutes": form_int(self.duration_minutes.data), "timezone": self.timezone.data}


class NewSeriesForm(ScheduleForm):
    report_id = ChoiceField(_l("With"))
    submit = SubmitField(_l("Schedule"))

    def to_data(self, emails: Mapping[int, str]) -> dict:
        """As the API sends it: the report chosen (by id, among ``emails``: report id → e-mail) as ``report_email``."""
        return {**super().to_data(), "report_email": emails.get(form_int(self.report_id.data), "")}


class MoveForm(FlaskForm):
    starts_on = TextField(_l("New date"), widget=DateInput(), render_kw=REQUIRED)
    start_time = TextField(_l("New time"), widget=TimeInput(), render_kw=REQUIRED)
    duration_minutes = _minutes(_l("Length in minutes"))
    submit = SubmitField(_l("Move this meeting"))

    def to_data(self) -> dict:
        return {"starts_on": self.starts_on.data, "start_time": self.start_time.data,
                "duration_minutes": form_int(self.duration_minutes.data)}


class AgendaForm(FlaskForm):
    text = TextField(_l("New agenda item"), render_kw={**REQUIRED, "maxlength": MAX_ITEM_LENGTH})
    submit = SubmitField(_l("Add to the agenda"))


class ActionForm(FlaskForm):
    text = TextField(_l("Action item"), render_kw={**REQUIRED, "maxlength": MAX_ITEM_LENGTH})
    owner_id = ChoiceField(_l("Owner"))
    due_on = TextField(_l("Due on (optional)"), widget=DateInput())
    submit = SubmitField(_l("Add action item"))

    def to_data(self) -> dict:
        return {"text": self.text.data, "owner_id": form_int(self.owner_id.data), "due_on": self.due_on.data}


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Note for yourself"), render_kw={"maxlength": MAX_NOTE_LENGTH})
    submit = SubmitField(_l("Save note"))
