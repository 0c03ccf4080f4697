// Playback of translated speech: its own AudioContext at the stream's output rate (the browser
// resamples to the speakers), graph: pcm-player worklet -> volume -> output-tap worklet -> speakers.
// The jitter buffer, join crossfades and fades live in the player (audio-worklets.js).

export const JITTER_MS = 100; // audio queued (or waited for) before playback starts after silence
export const FADE_MS = 5; // join crossfade, and fade in/out around underruns
const CAPACITY_S = 120; // queued audio beyond this is dropped (the page fell far behind)
const PLAYING_TAIL_MS = 250; // room echo outlasts the last played sample by about this much
const MAX_HELD_S = 20; // a talker who never pauses this long still hears their translation

export class Playback {
  // onTap({samples, audible, blocks}): reports from the output tap, every 100 ms.
  // onSpeaking(playing): when translated speech starts or stops coming out of the player.
  // gain: the volume, 0 (muted) to 1.
  constructor(onTap, { record = false, onSpeaking = () => {}, gain = 1 } = {}) {
    this.onTap = onTap;
    this.record = record;
    this.onSpeaking = onSpeaking;
    this.gain = gain;
    this.context = null;
    this.player = null;
    this.volume = null;
    this.playing = false;
    this.stoppedAt = 0;
    this.queuedMs = 0;
    this.held = false;
    this.heldBack = []; // chunks that arrived while held, in order
    this.heldSamples = 0;
  }

  // Creates (or re-creates for a new rate) the audio graph; call it from a click the first time,
  // browsers only let audio start after a user gesture.
  async prepare(rate) {
    if (this.context && this.rate === rate) return this.context.resume();
    this.context?.close();
    this.rate = rate;
    let context;
    try {
      context = new AudioContext({ sampleRate: rate, latencyHint: "interactive" });
    } catch (_) {
      context = new AudioContext({ latencyHint: "interactive" }); // the player resamples instead
    }
    this.context = context;
    await context.audioWorklet.addModule("audio-worklets.js");
    this.player = new AudioWorkletNode(context, "pcm-player", {
      numberOfInputs: 0,
      outputChannelCount: [1],
      processorOptions: {
        sourceRate: rate,
        jitterSamples: Math.round((rate * JITTER_MS) / 1000),
        fadeSamples: Math.round((rate * FADE_MS) / 1000),
        capacitySamples: rate * CAPACITY_S,
      },
    });
    this.player.port.onmessage = ({ data }) => {
      if (this.playing && !data.audible) this.stoppedAt = performance.now();
      if (this.playing !== data.audible) this.onSpeaking(data.audible);
      this.playing = data.audible;
      this.queuedMs = data.queuedMs;
    };
    const tap = new AudioWorkletNode(context, "output-tap", { processorOptions: { record: this.record } });
    tap.port.onmessage = ({ data }) => this.onTap(data);
    // The volume sits before the tap, which counts what reaches the speakers.
    this.volume = new GainNode(context, { gain: this.gain });
    this.player.connect(this.volume).connect(tap).connect(context.destination);
    await context.resume();
  }

  // pcm: ArrayBuffer of Int16 samples at the prepared rate, in arrival order. While held, speech that
  // has not started waits here; speech already playing goes on.
  // Returns true when it was held back.
  enqueue(pcm) {
    if (!this.player) return false;
    if (this.heldBack.length === 0 && !(this.held && !this.playing)) {
      this.post(pcm);
      return false;
    }
    this.heldBack.push(pcm);
    this.heldSamples += pcm.byteLength / 2;
    if (this.heldSamples > this.rate * MAX_HELD_S) this.release();
    return true;
  }

  // Talker priority (talk-detector.js): true holds translated speech back until hold(false).
  hold(held) {
    this.held = held;
    if (!held) this.release();
  }

  release() {
    for (const pcm of this.heldBack) this.post(pcm);
    this.heldBack = [];
    this.heldSamples = 0;
  }

  post(pcm) {
    const samples = new Int16Array(pcm);
    const floats = new Float32Array(samples.length);
    for (let i = 0; i < samples.length; i++) floats[i] = samples[i] / 32768;
    this.player.port.postMessage(floats.buffer, [floats.buffer]);
  }

  // True while translated speech plays or waits, held back, to play.
  get busy() {
    return this.playing || this.heldBack.length > 0;
  }

  // True while translated speech is audible, and shortly after (its echo in the room).
  get audible() {
    return this.playing || performance.now() - this.stoppedAt < PLAYING_TAIL_MS;
  }

  setGain(gain) {
    this.gain = gain;
    if (this.volume) this.volume.gain.value = gain;
  }

  clear() {
    this.heldBack = [];
    this.heldSamples = 0;
    this.player?.port.postMessage("clear");
  }
}
