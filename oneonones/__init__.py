"""One-on-ones: recurring series, occurrences, shared agenda, private notes, action items, calendar feed."""
