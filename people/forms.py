"""Forms for signing in and for HR's people pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from people.models import KINDS, ROLES


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember_me = BooleanField(_l("Keep me signed in"))
    submit = SubmitField(_l("Sign in"))


def language_choices():
    return [SelectChoice("", _l("Browser default")), SelectChoice("en", "English"), SelectChoice("it", "Italiano")]


def role_labels():
    return {"employee": _l("Employee"), "hr_admin": _l("HR administrator")}


def kind_labels():
    return {"employee": _l("Employee"), "contractor": _l("Contractor")}


class PersonForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    department_id = SelectField(_l("Department"), coerce=int, validators=[Optional()])
    manager_email = EmailField(_l("Manager's e-mail"), validators=[Optional(), Email()])
    role = SelectField(_l("Role"), choices=[SelectChoice(r, role_labels()[r]) for r in ROLES],
                       default="employee")
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, kind_labels()[k]) for k in KINDS],
                       default="employee")
    hired_on = DateField(_l("Hire date"), validators=[Optional()])
    locale = SelectField(_l("Language"), choices=language_choices, default="")
    timezone = StringField(_l("Time zone"), validators=[Optional(), Length(max=64)])
    submit = SubmitField(_l("Save"))

    def to_data(self) -> dict:
        return {
            "name": self.name.data,
            "email": self.email.data,
            "department_id": self.department_id.data or None,
            "manager_email": self.manager_email.data or None,
            "role": self.role.data,
            "kind": self.kind.data,
            "hired_on": self.hired_on.data,
            "locale": self.locale.data or None,
            "timezone": self.timezone.data or None,
        }


class NewPersonForm(PersonForm):
    invite = BooleanField(_l("Send an invitation to sign in"), default=True)


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(), FileAllowed(["csv"], _l("Choose a .csv file."))])
    invite = BooleanField(_l("Invite the people who cannot sign in yet"))
    submit = SubmitField(_l("Import"))


class SettingsForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=language_choices, default="")
    timezone = StringField(_l("Time zone"), validators=[Optional(), Length(max=64)])
    submit = SubmitField(_l("Save"))


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for POST buttons."""


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)],
                       render_kw={"autocomplete": "email"})
    submit = SubmitField(_l("Send me a link"))


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Type it again"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords are not the same."))],
        render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Set my password"))


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[DataRequired()],
                                 render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Change password"))
