"""What is left of the old facade, for a caller that is not ours to edit.

``surveys/views.py`` imports ``department_choices``; every other caller imports the module that owns
each rule (``people.directory``, ``people.importing``, ``people.signin``, ``people.org``). Delete this
file once that import reads ``from people.directory import department_choices``.
"""

from people.directory import department_choices  # noqa: F401
