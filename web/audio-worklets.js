// AudioWorklet processors of the client, loaded into each AudioContext it makes.
//  - "pcm-capture": microphone -> mono -> low-pass -> 16 kHz -> Int16 frames posted to the page.
//  - "pcm-player": plays posted Float32 chunks gap-free with a jitter buffer, join crossfades and fades.
//  - "output-tap": passes audio through; counts (and, for tests, records) what reaches the speakers.
// Nothing here allocates per render quantum except the posted messages.

const CAPTURE_RATE = 16000;
const REPORT_INTERVAL_S = 0.1;
const JOIN_CONTEXT = 16; // samples before a join that show how fast the waveform moves
const AUDIBLE_RMS = 0.003; // about -50 dBFS: output quieter than this cannot echo back audibly

// Windowed-sinc (Blackman) low-pass; cutoff is a fraction of the input rate. Odd length, unit DC gain.
function lowPassTaps(length, cutoff) {
  const taps = new Float32Array(length);
  const mid = (length - 1) / 2;
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const phase = (2 * Math.PI * i) / (length - 1);
    taps[i] = sinc * (0.42 - 0.5 * Math.cos(phase) + 0.08 * Math.cos(2 * phase));
    sum += taps[i];
  }
  return taps.map((tap) => tap / sum);
}

class PcmCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.frameSamples = options.processorOptions.frameSamples;
    this.frame = new Int16Array(this.frameSamples);
    this.fill = 0;
    this.energy = 0;
    this.step = sampleRate / CAPTURE_RATE; // input samples per output sample
    // Anti-aliasing: about 16 taps per unit of decimation keeps the transition band near 1 kHz
    // wide, so content above 8 kHz does not fold back into speech. No filter when upsampling.
    const length = this.step > 1 ? 2 * Math.round(16 * this.step) + 1 : 1;
    this.taps = length > 1 ? lowPassTaps(length, (0.44 * CAPTURE_RATE) / sampleRate) : new Float32Array([1]);
    this.size = 1 << Math.ceil(Math.log2(length + 256));
    this.mask = this.size - 1;
    this.history = new Float32Array(this.size); // ring of mono input samples
    this.count = 0; // input samples received so far
    this.position = 0; // input-sample position of the next output sample
  }

  // The low-passed input at integer position n (needs n < this.count).
  filtered(n) {
    const taps = this.taps;
    let acc = 0;
    for (let k = 0; k < taps.length; k++) acc += taps[k] * this.history[(n - k) & this.mask];
    return acc;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true; // no microphone connected yet
    const scale = 1 / channels.length;
    for (let i = 0; i < channels[0].length; i++) {
      let mono = 0;
      for (let c = 0; c < channels.length; c++) mono += channels[c][i];
      this.history[this.count & this.mask] = mono * scale;
      this.count++;
      // Every output sample whose two neighbours are now known: linear interpolation between
      // low-passed samples (the low-pass leaves little above 8 kHz for it to alias).
      while (Math.floor(this.position) + 1 < this.count) {
        const n = Math.floor(this.position);
        const fraction = this.position - n;
        this.emit(fraction === 0 ? this.filtered(n) : this.filtered(n) * (1 - fraction) + this.filtered(n + 1) * fraction);
        this.position += this.step;
      }
    }
    return true;
  }

  emit(value) {
    const clipped = value < -1 ? -1 : value > 1 ? 1 : value;
    this.frame[this.fill++] = Math.round(clipped < 0 ? clipped * 32768 : clipped * 32767);
    this.energy += clipped * clipped;
    if (this.fill === this.frameSamples) {
      const level = Math.sqrt(this.energy / this.frameSamples);
      this.port.postMessage({ pcm: this.frame.buffer, level }, [this.frame.buffer]); // detaches it
      this.frame = new Int16Array(this.frameSamples);
      this.fill = 0;
      this.energy = 0;
    }
  }
}

// Plays chunks of mono Float32 audio at `sourceRate` in the order posted.
//
// Jitter buffer: after silence, playback waits until `jitterSamples` are queued or the first
// queued sample has waited as long, so a short last chunk still plays.
// Joins: a chunk posted while the previous one still plays follows it sample-exactly. When it
// does not continue the waveform (separately synthesised pieces: a step that would click), its
// first `fadeSamples` crossfade from the chunk shifted to continue the previous one into the
// chunk itself; a chunk that continues the waveform is left exactly as it is.
// Underruns and ends: the last `fadeSamples` before the queue runs dry fade out, and playback
// fades in again when audio comes back, so there is never a step to or from silence.
class PcmPlayer extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { sourceRate, jitterSamples, fadeSamples, capacitySamples } = options.processorOptions;
    this.step = sourceRate / sampleRate; // source samples per output sample (1 when rates match)
    this.jitter = jitterSamples;
    this.fade = fadeSamples;
    this.size = 1 << Math.ceil(Math.log2(capacitySamples));
    this.mask = this.size - 1;
    this.ring = new Float32Array(this.size);
    this.write = 0; // source samples queued so far
    this.read = 0; // read position (fractional when resampling)
    this.waiting = true; // filling the jitter buffer
    this.waited = 0;
    this.gain = 0;
    this.audible = false;
    this.dropped = 0;
    this.sinceReport = 0;
    this.port.onmessage = ({ data }) => (data === "clear" ? this.clear() : this.push(new Float32Array(data)));
  }

  queued() {
    return this.write - this.read;
  }

  push(samples) {
    if (samples.length === 0) return;
    if (this.queued() + samples.length > this.size) {
      this.dropped += samples.length; // far behind real time: drop rather than grow latency
      return;
    }
    if (this.queued() > 0 && this.write > JOIN_CONTEXT) this.smoothJoin(samples); // else it fades in
    for (let i = 0; i < samples.length; i++) this.ring[(this.write + i) & this.mask] = samples[i];
    this.write += samples.length;
  }

  // A join is a step when the new chunk's first sample is further from the previous chunk's
  // linear continuation than that chunk ever moved in one sample just before the join. Then
  // crossfade, over fadeSamples, from the chunk shifted by that step into the chunk itself.
  smoothJoin(samples) {
    const at = (back) => this.ring[(this.write - back) & this.mask];
    let movement = 0;
    for (let back = 1; back < JOIN_CONTEXT; back++) movement = Math.max(movement, Math.abs(at(back) - at(back + 1)));
    const step = samples[0] - (2 * at(1) - at(2));
    if (Math.abs(step) <= movement) return; // the chunk continues the waveform: join it as it is
    const n = Math.min(this.fade, samples.length);
    for (let i = 0; i < n; i++) samples[i] -= step * 0.5 * (1 + Math.cos((Math.PI * i) / n));
  }

  clear() {
    this.read = this.write;
    this.waiting = true;
    this.waited = 0;
    this.gain = 0;
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    for (let i = 0; i < out.length; i++) {
      const queued = this.queued();
      if (this.waiting) {
        if (queued > 0) this.waited += this.step;
        if (queued < 1 || (queued < this.jitter && this.waited < this.jitter)) {
          out[i] = 0;
          continue;
        }
        this.waiting = false;
      }
      if (queued < 1) {
        // Ran dry (end of speech or an underrun): the fade-out already brought it to zero.
        this.waiting = true;
        this.waited = 0;
        this.gain = 0;
        this.read = this.write;
        out[i] = 0;
        continue;
      }
      const target = queued <= this.fade ? queued / this.fade : 1;
      this.gain = Math.min(target, this.gain + 1 / this.fade);
      const n = Math.floor(this.read);
      const fraction = this.read - n;
      let value = this.ring[n & this.mask];
      if (fraction > 0 && queued > 1) value += (this.ring[(n + 1) & this.mask] - value) * fraction;
      out[i] = value * this.gain;
      this.read += this.step;
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    // "audible": speech comes out of the speakers now (queued silence does not count).
    let energy = 0;
    for (let i = 0; i < out.length; i++) energy += out[i] * out[i];
    const audible = energy > AUDIBLE_RMS * AUDIBLE_RMS * out.length;
    this.sinceReport += out.length;
    if (audible !== this.audible || this.sinceReport >= REPORT_INTERVAL_S * sampleRate) {
      this.audible = audible;
      this.sinceReport = 0;
      this.port.postMessage({ audible, queuedMs: (1000 * this.queued()) / (this.step * sampleRate), dropped: this.dropped });
    }
    return true;
  }
}

// The last node before the speakers. Counts samples that reach them (and audible ones); when
// built with `record: true` (the test hook) it also posts every block it passes on.
class OutputTap extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.record = Boolean(options.processorOptions?.record);
    this.samples = 0;
    this.audible = 0;
    this.pending = [];
    this.sinceReport = 0;
  }

  process(inputs, outputs) {
    const input = inputs[0];
    const output = outputs[0];
    const mono = input.length > 0 ? input[0] : null;
    for (let c = 0; c < output.length; c++) {
      if (input[c] || mono) output[c].set(input[c] || mono);
    }
    const length = output[0].length;
    this.samples += length;
    if (mono) {
      for (let i = 0; i < length; i++) if (mono[i] > 1e-3 || mono[i] < -1e-3) this.audible++;
      if (this.record) this.pending.push(mono.slice());
    } else if (this.record) {
      this.pending.push(new Float32Array(length));
    }
    this.sinceReport += length;
    if (this.sinceReport >= REPORT_INTERVAL_S * sampleRate) {
      this.port.postMessage({ samples: this.samples, audible: this.audible, blocks: this.pending });
      this.pending = [];
      this.sinceReport = 0;
    }
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
registerProcessor("pcm-player", PcmPlayer);
registerProcessor("output-tap", OutputTap);
