"""Forms for two-factor sign-in: a code at sign-in, confirming the app, renewing codes, turning it off."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

# Long enough for a recovery code typed with spaces; anything longer is refused before it is checked.
MAX_CODE = 20
_ONE_TIME = {"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false",
             "maxlength": MAX_CODE}
_APP_CODE = {**_ONE_TIME, "inputmode": "numeric"}


class SignInCodeForm(FlaskForm):
    """At sign-in a recovery code (letters and digits) stands in for the app's code, so no numeric keypad."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=MAX_CODE)], render_kw=_ONE_TIME)
    submit = SubmitField(_l("Verify"))


class ConfirmForm(FlaskForm):
    code = StringField(_l("Code from your app"), validators=[DataRequired(), Length(max=MAX_CODE)],
                       render_kw=_APP_CODE)
    submit = SubmitField(_l("Turn on two-factor sign-in"))


class RenewForm(FlaskForm):
    code = StringField(_l("Code from your app"), validators=[DataRequired(), Length(max=MAX_CODE)],
                       render_kw=_APP_CODE)
    submit = SubmitField(_l("Make new recovery codes"))


class DisableForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[Optional(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})
    code = StringField(_l("Or a code from your app or a recovery code"), validators=[Optional(), Length(max=MAX_CODE)],
                       render_kw=_ONE_TIME)
    submit = SubmitField(_l("Turn off two-factor sign-in"))
