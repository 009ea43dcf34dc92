// Expand an iCalendar feed as a calendar client does, with ical.js and the feed's own VTIMEZONEs.
//
// Usage: node expand.mjs FROM TO < feed.ics
// FROM and TO are ISO 8601 instants. Prints JSON: [{uid, start, end}] for every meeting shown
// (cancelled ones left out) whose start lies in [FROM, TO), with start and end as seconds since
// the epoch, in the order ical.js yields them.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const [from, to] = process.argv.slice(2).map((text) => Date.parse(text) / 1000);
if (!Number.isFinite(from) || !Number.isFinite(to)) {
  console.error("usage: node expand.mjs FROM TO < feed.ics");
  process.exit(2);
}
const calendar = new ICAL.Component(ICAL.parse(readFileSync(0, "utf8")));
// No zone is built into ical.js: only what the feed declares is known, as in a real client.
for (const zone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(zone);
}

const masters = new Map();
const overrides = [];
for (const component of calendar.getAllSubcomponents("vevent")) {
  const event = new ICAL.Event(component);
  if (event.isRecurrenceException()) overrides.push(event);
  else masters.set(event.uid, event);
}
for (const override of overrides) masters.get(override.uid)?.relateException(override);

const shown = [];
for (const event of masters.values()) {
  const iterator = event.iterator();
  for (let next = iterator.next(); next; next = iterator.next()) {
    const details = event.getOccurrenceDetails(next);
    const start = details.startDate.toUnixTime();
    // Occurrences come in original order; a moved one may land before FROM, so read well past TO.
    if (next.toUnixTime() >= to + 400 * 86400) break;
    if (start < from || start >= to) continue;
    if (details.item.component.getFirstPropertyValue("status") === "CANCELLED") continue;
    shown.push({ uid: event.uid, start, end: details.endDate.toUnixTime() });
  }
}
process.stdout.write(JSON.stringify(shown));
