// The transcript as files to keep: plain text, SRT subtitles timed by input time (when the words
// were spoken), and JSON with all the record holds. Pure functions of the store's entries.

const MIN_CUE_MS = 1000; // a subtitle whose speech end is unknown stays up this long

// "00:01:02,345" (SRT) or "00:01:02" (text).
function clockTime(ms, withMillis) {
  const total = Math.max(0, Math.round(ms));
  const pad = (value, width = 2) => String(value).padStart(width, "0");
  const hms = `${pad(Math.floor(total / 3_600_000))}:${pad(Math.floor(total / 60_000) % 60)}:${pad(Math.floor(total / 1000) % 60)}`;
  return withMillis ? `${hms},${pad(total % 1000, 3)}` : hms;
}

function lines(entry) {
  return [entry.source?.text, entry.target?.text].filter(Boolean);
}

// Entries with text, as the page shows them: each segment's start, what was said, then "→ " and
// its translation.
export function asText(entries) {
  return entries.map((entry) => {
    const indent = " ".repeat(10);
    const said = entry.source ? entry.source.text : "";
    const translated = entry.target ? `\n${indent}→ ${entry.target.text}` : "";
    return `${clockTime(entry.startMs, false)}  ${said}${translated}`;
  }).join("\n") + "\n";
}

// One cue per segment from its speech start to its speech end, on the record's input clock:
// what was said, then its translation.
export function asSrt(entries) {
  return entries.map((entry, index) => {
    const end = entry.endMs !== null && entry.endMs > entry.startMs ? entry.endMs : entry.startMs + MIN_CUE_MS;
    return `${index + 1}\n${clockTime(entry.startMs, true)} --> ${clockTime(end, true)}\n${lines(entry).join("\n")}\n`;
  }).join("\n");
}

// The entries with the figures of the timeline (docs/web-client.md describes the fields).
export function asJson(entries) {
  const segments = entries.map((entry) => ({
    session: entry.session,
    segment_id: entry.segmentId,
    start_ms: entry.startMs,
    end_ms: entry.endMs,
    source: entry.source,
    target: entry.target,
    translated_speech: { start_ms: entry.outputStartMs, end_ms: entry.outputEndMs },
    first_output_latency_ms: entry.firstOutputLatencyMs,
    ending_offset_ms: entry.endingOffsetMs,
  }));
  return `${JSON.stringify({ format: "s2st-transcript", version: 1, segments }, null, 2)}\n`;
}
