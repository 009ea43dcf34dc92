"""One-on-ones: recurring series, occurrences, shared agenda, private notes, action items, calendar feed.

The business rules are plain functions over the session, one job per module. The pages
(``views``), the JSON API (``api.oneonones``), the calendar feed and ``tick`` all call them.
Each refusal raises from ``errors`` before anything is written; functions that depend on
time take ``now`` (UTC). From the ground up, each module imports only those above it:

- ``schedule``, ``clock``: pure RRULE and clock-change arithmetic (no Flask, no database);
- ``reading``: reading a schedule and a meeting's start from a form or a JSON body;
- ``occurrences``: the meetings of a series, with moves and cancellations applied;
- ``access``: who is in a series and what each may do; series whose reporting line changed end;
- ``wording``: a meeting's time in its reader's words;
- ``conflicts``: refusing overlaps with other one-on-ones;
- ``notices``: the e-mail telling the report what the manager changed;
- ``series``: scheduling, rescheduling, pausing, resuming and ending a series;
- ``meetings``: moving, cancelling and restoring one meeting;
- ``agenda``: the shared agenda, action items and private notes;
- ``overview``: the lists the pages show;
- ``reminders``: ``tick``'s periodic work;
- ``vtimezone``, ``calendar``, ``feeds``: the private .ics feed.
"""
