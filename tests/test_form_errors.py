"""The one placer of a service's field messages on an HTML form."""

from wtforms import FieldList, Form, StringField

from form_errors import place_errors


class Sample(Form):
    title = StringField()
    starts_on = StringField()
    rows = FieldList(StringField(), min_entries=2)


def sample() -> Sample:
    form = Sample()
    for field in form:
        field.errors = []
    return form


def test_each_message_lands_on_the_field_it_names_and_the_rest_come_back():
    form = sample()
    left = place_errors(form, {"title": "Too long.", "nobody": "Not a field.", "rows.1": "Bad row."})
    assert form.title.errors == ["Too long."]
    assert form.rows.errors == ["Bad row."]
    assert left == ["Not a field."]


def test_aliases_map_the_services_names_to_the_forms():
    form = sample()
    assert place_errors(form, {"starts_at": "Not a date."}, aliases={"starts_at": "starts_on"}) == []
    assert form.starts_on.errors == ["Not a date."]


def test_a_fallback_field_takes_what_no_field_names_and_messages_accumulate():
    form = sample()
    form.title.errors = ["Required."]
    assert place_errors(form, {"survey": "Someone changed it."}, fallback=form.title) == []
    assert form.title.errors == ["Required.", "Someone changed it."]


def test_a_resolver_of_its_own_can_refuse_a_field():
    form = sample()
    left = place_errors(form, {"rows.0.id": "Hidden id.", "title": "Too long."},
                        field_for=lambda name: None if name.endswith(".id") else getattr(form, name))
    assert left == ["Hidden id."] and form.title.errors == ["Too long."]
