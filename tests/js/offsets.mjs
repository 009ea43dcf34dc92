// Read wall-clock times through a VTIMEZONE as ical.js does, for checking the zone itself.
//
// Usage: node offsets.mjs < input.json, where input.json is [{ics, walls: ["2027-03-28T01:59:59", ...]}]
// and each ics holds one VTIMEZONE. Prints, per entry, the instant (seconds since the epoch) that
// ical.js gives each wall-clock time in that zone.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const entries = JSON.parse(readFileSync(0, "utf8"));
const result = entries.map(({ ics, walls }) => {
  const zone = new ICAL.Timezone(new ICAL.Component(ICAL.parse(ics)).getFirstSubcomponent("vtimezone"));
  return walls.map((wall) => {
    const time = ICAL.Time.fromDateTimeString(wall);
    time.zone = zone;
    return time.toUnixTime();
  });
});
process.stdout.write(JSON.stringify(result));
