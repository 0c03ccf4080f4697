// AudioWorklet processors of the client (loaded once per AudioContext).
//  - "pcm-capture": mono mix, low-pass, resample to 16 kHz, post Int16 frames of FRAME_SAMPLES.
//  - "playback-tap": passes audio through unchanged and reports how much non-silent audio was played.

const TARGET_RATE = 16000;
const FIR_TAPS = 31;

function lowPassTaps(cutoffRatio) {
  // Windowed-sinc (Blackman) low-pass; cutoffRatio = cutoff / input rate.
  const taps = new Float32Array(FIR_TAPS);
  const mid = (FIR_TAPS - 1) / 2;
  let sum = 0;
  for (let i = 0; i < FIR_TAPS; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * cutoffRatio : Math.sin(2 * Math.PI * cutoffRatio * x) / (Math.PI * x);
    const window = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (FIR_TAPS - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (FIR_TAPS - 1));
    taps[i] = sinc * window;
    sum += taps[i];
  }
  return taps.map((t) => t / sum);
}

class PcmCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.frameSamples = options.processorOptions.frameSamples;
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.taps = this.step > 1 ? lowPassTaps((0.45 * TARGET_RATE) / sampleRate) : null;
    this.history = new Float32Array(FIR_TAPS); // last filtered-input samples
    this.filtered = [];
    this.position = 0; // fractional read position in this.filtered
    this.frame = new Int16Array(this.frameSamples);
    this.fill = 0;
    this.levelSum = 0;
    this.levelCount = 0;
  }

  filter(sample) {
    if (!this.taps) return sample;
    this.history.copyWithin(0, 1);
    this.history[FIR_TAPS - 1] = sample;
    let acc = 0;
    for (let i = 0; i < FIR_TAPS; i++) acc += this.taps[i] * this.history[i];
    return acc;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const length = channels[0].length;
    for (let i = 0; i < length; i++) {
      let mixed = 0;
      for (const channel of channels) mixed += channel[i];
      this.filtered.push(this.filter(mixed / channels.length));
    }
    // Linear interpolation between low-passed samples at the 16 kHz grid.
    while (this.position + 1 < this.filtered.length) {
      const index = Math.floor(this.position);
      const fraction = this.position - index;
      const value = this.filtered[index] * (1 - fraction) + this.filtered[index + 1] * fraction;
      this.emit(value);
      this.position += this.step;
    }
    const consumed = Math.floor(this.position);
    this.filtered = this.filtered.slice(consumed);
    this.position -= consumed;
    return true;
  }

  emit(value) {
    const clipped = Math.max(-1, Math.min(1, value));
    this.frame[this.fill++] = Math.round(clipped < 0 ? clipped * 32768 : clipped * 32767);
    this.levelSum += clipped * clipped;
    this.levelCount++;
    if (this.fill === this.frameSamples) {
      const level = Math.sqrt(this.levelSum / this.levelCount);
      this.port.postMessage({ pcm: this.frame.buffer, level }, [this.frame.buffer]);
      this.frame = new Int16Array(this.frameSamples);
      this.fill = 0;
      this.levelSum = 0;
      this.levelCount = 0;
    }
  }
}

class PlaybackTap extends AudioWorkletProcessor {
  constructor() {
    super();
    this.audible = 0;
    this.sinceReport = 0;
  }

  process(inputs, outputs) {
    const input = inputs[0];
    const output = outputs[0];
    for (let c = 0; c < output.length; c++) {
      const source = input[c] || input[0];
      if (source) output[c].set(source);
    }
    if (input[0]) {
      for (const sample of input[0]) if (Math.abs(sample) > 1e-3) this.audible++;
    }
    this.sinceReport += 128;
    if (this.sinceReport >= sampleRate / 10) {
      this.port.postMessage({ audibleSamples: this.audible, sampleRate });
      this.sinceReport = 0;
    }
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
registerProcessor("playback-tap", PlaybackTap);
