"""Forms for creating and editing milestone plans and acting on milestones.

The forms collect text and hand the services what the API sends: an amount typed in the
reader's locale ("1.234,50") becomes ``amount_minor`` (``read_amounts``, with
``rewards.money``'s reader). The rewards services (``rewards.plans``, ``rewards.editing``,
``rewards.transitions``) check every rule (amounts, currencies, dates, who may do what), so the
pages and the API refuse alike. May import ``inputs`` and ``rewards.money`` only.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from inputs import form_int
from rewards.money import clean_amount_text, clean_currency

MIN_ROWS = 3


def read_amounts(texts: list[str], currency: str | None, locale: str) -> tuple[list[int | None], dict[str, str | None]]:
    """Amounts typed in major units in ``locale``, as the API's ``amount_minor``, one per milestone.

    Returns the amounts (None where the text is not one) and, by the service's field name
    (``milestones.<i>.amount_minor``), why each None is: the reader's message, or None when the
    currency is what is wrong (its own error says so). A page puts these in place of the
    service's message for the same field, so a person reads what they typed wrong.
    """
    code = clean_currency(currency, {})
    amounts: list[int | None] = []
    unread: dict[str, str | None] = {}
    for index, text in enumerate(texts):
        name = f"milestones.{index}.amount_minor"
        errors: dict[str, str] = {}
        amount = clean_amount_text(text, code, locale, name, errors) if code else None
        amounts.append(amount)
        if amount is None:
            unread[name] = errors.get(name)
    return amounts, unread


class MilestoneRowForm(Form):
    """One milestone of the new plan; a row left completely empty is ignored."""

    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    criteria = TextAreaField(_l("Measurable acceptance criteria"), validators=[Optional(), Length(max=5000)],
                             render_kw={"rows": 2})
    amount = StringField(_l("Amount"), validators=[Optional(), Length(max=30)],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    due_on = DateField(_l("Due date"), validators=[Optional()])

    def is_blank(self) -> bool:
        typed = [self.title.data, self.criteria.data, self.amount.data, " ".join(self.due_on.raw_data or [])]
        return not any((value or "").strip() for value in typed)


class PlanForm(FlaskForm):
    title = StringField(_l("Plan title (optional)"), validators=[Optional(), Length(max=200)])
    recipient_email = EmailField(_l("Recipient's e-mail"), validators=[InputRequired(), Length(max=254)])
    approver_email = EmailField(_l("Approver's e-mail"), validators=[InputRequired(), Length(max=254)])
    currency = StringField(_l("Currency (ISO 4217 code)"), default="EUR",
                           validators=[InputRequired(), Length(min=3, max=3)],
                           render_kw={"autocomplete": "off", "list": "currency-codes", "class": "text-uppercase"})
    starts_on = DateField(_l("Plan starts on"), validators=[InputRequired()])
    payment_terms_days = IntegerField(_l("Payment terms, in days after approval"), default=14,
                                      validators=[InputRequired(), NumberRange(0, 365)])
    milestones = FieldList(FormField(MilestoneRowForm), min_entries=MIN_ROWS, max_entries=24)
    add_row = SubmitField(_l("Add another milestone"))
    submit = SubmitField(_l("Create plan"))

    def to_data(self, locale: str) -> tuple[dict, dict[str, str | None]]:
        """The plan as the API sends it, and the amounts the page could not read (``read_amounts``)."""
        rows = [row.form for row in self.milestones if not row.form.is_blank()]
        amounts, unread = read_amounts([r.amount.data or "" for r in rows], self.currency.data, locale)
        return {
            "title": self.title.data or None,
            "recipient_email": self.recipient_email.data,
            "approver_email": self.approver_email.data,
            "currency": self.currency.data,
            "starts_on": self.starts_on.data,
            "payment_terms_days": self.payment_terms_days.data,
            "milestones": [{"title": r.title.data, "criteria": r.criteria.data, "amount_minor": amount,
                            "due_on": r.due_on.data} for r, amount in zip(rows, amounts, strict=True)],
        }, unread

    def row_index(self, position: int) -> int:
        """The form row shown for the ``position``-th non-blank milestone (0-based), for error messages."""
        filled = [i for i, row in enumerate(self.milestones) if not row.form.is_blank()]
        return filled[position] if position < len(filled) else position


class MilestoneEditRowForm(MilestoneRowForm):
    """A milestone row of the edit page: which milestone it changes (none: a new one), and whether to remove it."""

    milestone_id = HiddenField()
    remove = BooleanField(_l("Remove this milestone"))

    def is_new(self) -> bool:
        return not (self.milestone_id.data or "").strip()


class PlanEditForm(FlaskForm):
    """HR's corrections to a plan's milestones before anyone agrees; ``rewards.editing.edit_plan`` checks them."""

    milestones = FieldList(FormField(MilestoneEditRowForm), min_entries=1, max_entries=2 * 24)
    note = TextAreaField(_l("Why the change (optional)"), validators=[Optional(), Length(max=5000)],
                         render_kw={"rows": 2})
    terms_version = HiddenField()  # the terms the form was filled from (rewards.plans.terms_version)
    add_row = SubmitField(_l("Add another milestone"))
    submit = SubmitField(_l("Save changes"))

    def _kept(self) -> list[int]:
        """Indices of the rows that stay in the plan: not marked for removal, and not a new row left empty."""
        return [i for i, row in enumerate(self.milestones)
                if not row.form.remove.data and not (row.form.is_new() and row.form.is_blank())]

    def to_data(self, currency: str, locale: str) -> tuple[dict, dict[str, str | None]]:
        """The changes as the API sends them, and the amounts the page could not read (``read_amounts``)."""
        rows = [self.milestones[i].form for i in self._kept()]
        amounts, unread = read_amounts([r.amount.data or "" for r in rows], currency, locale)
        return {
            "note": self.note.data or None,
            "terms_version": form_int(self.terms_version.data),
            "milestones": [{"id": form_int(r.milestone_id.data), "title": r.title.data,
                            "criteria": r.criteria.data, "amount_minor": amount, "due_on": r.due_on.data}
                           for r, amount in zip(rows, amounts, strict=True)],
        }, unread

    def row_index(self, position: int) -> int:
        """The form row shown for the ``position``-th milestone sent (0-based), for error messages."""
        kept = self._kept()
        return kept[position] if position < len(kept) else position


class ActionForm(FlaskForm):
    """The fields an action may need: evidence (submit), a reason (request changes), a reference (pay)."""

    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 3})
    evidence_url = URLField(_l("Link to the evidence"), validators=[Optional(), Length(max=2000)])
    reference = StringField(_l("Payment reference"), validators=[Optional(), Length(max=200)])
    terms_version = HiddenField()  # agree: the terms the page showed (rewards.plans.terms_version)
    submit = SubmitField(_l("Confirm"))

    def to_data(self, action: str) -> dict:
        data = {"note": self.note.data or None}
        if action == "agree" and self.terms_version.data:
            data["terms_version"] = form_int(self.terms_version.data)
        if action == "submit":
            data["evidence_url"] = self.evidence_url.data or None
        if action == "pay":
            data["reference"] = self.reference.data or None
        return data


class HistoryForm(FlaskForm):
    """The history page's filters (a GET form: no CSRF token needed)."""

    class Meta:
        csrf = False

    survey = SelectField(_l("eNPS from the survey"))
    currency = SelectField(_l("Currency"))
    group_by = SelectField(_l("Payouts by"), default="department")
    submit = SubmitField(_l("Show"))
