// Gap-free playback of translated speech chunks.
//
// Chunks are scheduled back to back on the AudioContext clock, JITTER_S after the first one
// arrives (a small jitter buffer). Each chunk gets a short fade-out scheduled at its end; when
// the next chunk arrives in time, that fade is cancelled so contiguous speech joins seamlessly.
// When it arrives late (an underrun), the fade has already smoothed the stop, and the late
// chunk fades in: no clicks either way.

const JITTER_S = 0.08;
const FADE_S = 0.005;

export class Playback {
  constructor(context, output) {
    this.context = context;
    this.output = output;
    this.nextTime = 0;
    this.lastGain = null;
    this.lastEnd = 0;
    this.sources = new Set();
  }

  setSampleRate(rate) {
    this.rate = rate;
  }

  enqueue(pcmBytes) {
    const samples = new Int16Array(pcmBytes);
    if (samples.length === 0) return;
    const buffer = this.context.createBuffer(1, samples.length, this.rate);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < samples.length; i++) channel[i] = samples[i] / 32768;

    const now = this.context.currentTime;
    const gain = this.context.createGain();
    const contiguous = this.lastGain !== null && this.nextTime >= now + 0.002;
    if (contiguous) {
      // The previous chunk's fade-out is no longer wanted: keep it at full level to its end.
      this.lastGain.gain.cancelScheduledValues(this.lastEnd - FADE_S);
      this.lastGain.gain.setValueAtTime(1, this.lastEnd - FADE_S);
    } else {
      this.nextTime = now + JITTER_S;
      gain.gain.setValueAtTime(0, this.nextTime);
      gain.gain.linearRampToValueAtTime(1, this.nextTime + FADE_S);
    }
    const start = this.nextTime;
    const end = start + buffer.duration;
    if (contiguous) gain.gain.setValueAtTime(1, start);
    gain.gain.setValueAtTime(1, Math.max(start + FADE_S, end - FADE_S));
    gain.gain.linearRampToValueAtTime(0, end);

    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(gain).connect(this.output);
    source.onended = () => this.sources.delete(source);
    this.sources.add(source);
    source.start(start);
    this.nextTime = end;
    this.lastGain = gain;
    this.lastEnd = end;
  }

  clear() {
    for (const source of this.sources) {
      try { source.stop(); } catch (_) { /* already stopped */ }
    }
    this.sources.clear();
    this.nextTime = 0;
    this.lastGain = null;
  }
}
