"""People: employees and contractors, departments, roles, sign-in, CSV import."""
