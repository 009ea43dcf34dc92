"""Results pages for HR and managers, and how the numbers are computed."""
