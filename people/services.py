"""Temporary facade: the rules moved to ``people.directory``, ``people.importing`` and ``people.signin``."""

from people.directory import (  # noqa: F401
    PERSON_FIELDS,
    RowError,
    clean_person,
    create_department,
    create_user,
    department_choices,
    get_person,
    normalize_email,
    people_by_email,
    search_people,
    set_active,
    update_person,
    upsert_people,
)
from people.importing import CSV_COLUMNS, import_people_csv  # noqa: F401
from people.signin import (  # noqa: F401
    authenticate,
    issue_api_token,
    person_for_api_token,
    purge_login_attempts,
)
