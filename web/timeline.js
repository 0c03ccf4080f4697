// The lag timeline: your speech and its translated speech as bars on two lanes over input time,
// and under them each finished sentence's first-output latency and ending offset as points, so
// how far behind the translation runs shows at a glance. SVG drawn in CSS pixels, so its text
// stays legible however narrow the screen; it reads the transcript store and redraws at most
// every REDRAW_MS (audio chunks change it 50 times a second).

const SVG_NS = "http://www.w3.org/2000/svg";
const WINDOW_MS = 60_000; // the last minute of the record is shown
const MIN_SPAN_MS = 10_000; // a short record is not stretched wider than this
const LEFT = 96; // px for lane names and the latency scale
const RIGHT = 14;
const LANE_HEIGHT = 22;
const LANES = { speech: { label: "You", top: 4 }, translation: { label: "Translation", top: 32 } };
const AXIS_LABEL_Y = 74;
const POINTS_TOP = 92;
const POINTS_BOTTOM = 180;
const HEIGHT = 188;
const TICK_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
const MIN_TICK_PX = 56;
const MIN_LAG_SCALE_MS = 2000;
const LAG_GRIDLINES = 4;
const POINT_RADIUS = 5;
const REDRAW_MS = 100;

export class LagTimeline {
  // svg: the <svg> element to draw into; store: a TranscriptStore.
  constructor(svg, store) {
    this.svg = svg;
    this.store = store;
    this.scheduled = false;
    new ResizeObserver(() => this.show()).observe(svg);
  }

  // Draws the store's state soon, in one frame with the changes that follow.
  show() {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => requestAnimationFrame(() => {
      this.scheduled = false;
      this.draw();
    }), REDRAW_MS);
  }

  draw() {
    const width = Math.max(240, Math.round(this.svg.getBoundingClientRect().width));
    const entries = this.store.segments;
    const end = Math.max(this.store.clock, ...entries.map((entry) => entry.outputEndMs ?? 0));
    const from = Math.max(0, end - WINDOW_MS);
    const to = Math.max(end, from + MIN_SPAN_MS);
    const x = (ms) => LEFT + ((Math.min(Math.max(ms, from), to) - from) / (to - from)) * (width - LEFT - RIGHT);
    const shown = entries.filter((entry) => (entry.outputEndMs ?? entry.endMs ?? end) >= from);
    const measured = shown.filter((entry) => entry.firstOutputLatencyMs !== null || entry.endingOffsetMs !== null);
    const [lagScale, lagStep] = lagScaleOf(measured);
    const y = (ms) => POINTS_BOTTOM - (ms / lagScale) * (POINTS_BOTTOM - POINTS_TOP);

    this.svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
    this.svg.setAttribute("height", HEIGHT);
    this.svg.setAttribute("aria-label", describe(measured));
    const parts = [...timeAxis(from, to, x), ...lagAxis(lagScale, lagStep, y, width)];
    for (const [name, lane] of Object.entries(LANES)) {
      parts.push(text(lane.label, 4, lane.top + LANE_HEIGHT / 2 + 5, "lane-label"));
      parts.push(element("line", { class: "lane", x1: LEFT, x2: width - RIGHT, y1: lane.top + LANE_HEIGHT, y2: lane.top + LANE_HEIGHT }));
      parts.push(...shown.map((entry) => bar(name, entry, end, x)).filter(Boolean));
    }
    for (const entry of measured) {
      const at = x(entry.endMs);
      if (entry.firstOutputLatencyMs !== null) {
        parts.push(element("circle", { class: "first-output", cx: at, cy: y(entry.firstOutputLatencyMs), r: POINT_RADIUS,
          "data-key": entry.key, "data-ms": entry.firstOutputLatencyMs }));
      }
      if (entry.endingOffsetMs !== null) {
        const [cx, cy, r] = [at, y(entry.endingOffsetMs), POINT_RADIUS + 1];
        parts.push(element("path", { class: "ending-offset", d: `M${cx},${cy - r}L${cx + r},${cy}L${cx},${cy + r}L${cx - r},${cy}Z`,
          "data-key": entry.key, "data-ms": entry.endingOffsetMs }));
      }
    }
    this.svg.replaceChildren(...parts);
  }
}

// One segment's bar on a lane: speech from its start to its end (to now while it goes on), or its
// translated speech as far as it is known.
function bar(lane, entry, now, x) {
  const [start, stop] = lane === "speech" ? [entry.startMs, entry.endMs ?? now] : [entry.outputStartMs, entry.outputEndMs];
  if (start === null || stop === null) return null;
  const left = x(start);
  return element("rect", { class: lane, x: left, y: LANES[lane].top, width: Math.max(2, x(stop) - left), height: LANE_HEIGHT,
    rx: 3, "data-key": entry.key, "data-start-ms": start, "data-end-ms": stop });
}

function timeAxis(from, to, x) {
  const pxPerS = (x(to) - x(from)) / ((to - from) / 1000);
  const step = (TICK_STEPS_S.find((s) => s * pxPerS >= MIN_TICK_PX) ?? TICK_STEPS_S.at(-1)) * 1000;
  const parts = [];
  for (let ms = Math.ceil(from / step) * step; ms <= to; ms += step) {
    parts.push(element("line", { class: "grid", x1: x(ms), x2: x(ms), y1: LANES.speech.top, y2: POINTS_BOTTOM }));
    parts.push(text(minutesAndSeconds(ms), x(ms), AXIS_LABEL_Y, "tick", "middle"));
  }
  return parts;
}

function lagAxis(scale, step, y, width) {
  const parts = [text("Lag", 4, POINTS_TOP + 4, "lane-label")];
  for (let ms = 0; ms <= scale; ms += step) {
    parts.push(element("line", { class: ms === 0 ? "lane" : "grid", x1: LEFT, x2: width - RIGHT, y1: y(ms), y2: y(ms) }));
    parts.push(text(`${ms / 1000} s`, LEFT - 6, y(ms) + 4, "tick", "end"));
  }
  return parts;
}

// What the chart shows, for screen readers (the chart's accessible name).
function describe(measured) {
  const last = measured.at(-1);
  if (!last) return "Lag timeline: no sentence finished yet.";
  const seconds = (ms) => (ms === null ? "unknown" : `${(ms / 1000).toFixed(1)} s`);
  return `Lag timeline of ${measured.length} finished sentence${measured.length === 1 ? "" : "s"}. Last: the translation ` +
    `began ${seconds(last.firstOutputLatencyMs)} after the speech did and ended ${seconds(last.endingOffsetMs)} after it.`;
}

// The top of the latency scale and its gridline step: whole seconds, at most LAG_GRIDLINES lines.
function lagScaleOf(measured) {
  const highest = Math.max(MIN_LAG_SCALE_MS, ...measured.flatMap((entry) => [entry.firstOutputLatencyMs ?? 0, entry.endingOffsetMs ?? 0]));
  const step = Math.max(1, Math.ceil(highest / LAG_GRIDLINES / 1000)) * 1000;
  return [Math.ceil(highest / step) * step, step];
}

function minutesAndSeconds(ms) {
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function text(content, x, y, className, anchor = "start") {
  const node = element("text", { class: className, x, y, "text-anchor": anchor });
  node.textContent = content;
  return node;
}

function element(name, attributes) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}
