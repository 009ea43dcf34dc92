"""The one form of a conversation: a message, from HR or from the respondent."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from surveys.models import MAX_REPLY_LENGTH


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Your message"), validators=[
        InputRequired(_l("Write a message.")),
        Length(max=MAX_REPLY_LENGTH, message=_l("At most %(max)d characters."))])
    submit = SubmitField(_l("Send"))
