"""One-on-one series and their occurrences, agenda items, notes and action items."""
