"""Action plans: an owned, tracked change for a survey driver in one group, and whether the driver moved."""
