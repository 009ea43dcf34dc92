"""What is left of the old facade: the committed ``dashboards/views.py`` still reads ``recent_rounds`` here.

Everything else imports the module that owns each rule; delete this file once that import points at
``surveys.building``.
"""

from surveys.building import recent_rounds  # noqa: F401
