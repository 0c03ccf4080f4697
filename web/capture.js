// Microphone capture: getUserMedia into the "pcm-capture" worklet, which hands back 16 kHz
// PCM s16le frames of FRAME_MS (docs/protocol.md: 20-40 ms frames from the web client).

export const CAPTURE_RATE = 16000;
export const FRAME_MS = 20;

// With speakers, the browser's echo canceller keeps the played translation out of the
// microphone. "all" asks it to remove everything the system plays, not only WebRTC calls
// (browsers that predate that value read any string as `true`).
const SPEAKER_CONSTRAINTS = { echoCancellation: "all", noiseSuppression: true, autoGainControl: true };
// With headphones nothing plays into the microphone: take the audio as captured.
const HEADPHONE_CONSTRAINTS = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };

export class Capture {
  // onFrame(ArrayBuffer of Int16 PCM, its rms 0..1), onLevel(rms 0..1)
  constructor(onFrame, onLevel) {
    this.onFrame = onFrame;
    this.onLevel = onLevel;
    this.context = null;
    this.stream = null;
  }

  // Resolves once audio flows; rejects with the browser's error (e.g. NotAllowedError).
  // Call it from a click: the AudioContext is made before the first await, inside the gesture.
  async start({ headphones }) {
    // The device's own rate: the worklet does the one resampling step, to 16 kHz.
    this.context = new AudioContext({ latencyHint: "interactive" });
    const loaded = this.context.audioWorklet.addModule("audio-worklets.js");
    loaded.catch(() => {}); // awaited below; if the microphone is refused first, stop() closes the context under it
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, ...(headphones ? HEADPHONE_CONSTRAINTS : SPEAKER_CONSTRAINTS) },
    });
    await loaded;
    const source = this.context.createMediaStreamSource(this.stream);
    const node = new AudioWorkletNode(this.context, "pcm-capture", {
      outputChannelCount: [1],
      processorOptions: { frameSamples: (CAPTURE_RATE * FRAME_MS) / 1000 },
    });
    node.port.onmessage = ({ data }) => {
      this.onLevel(data.level);
      this.onFrame(data.pcm, data.level);
    };
    // Only nodes the speakers pull from run in every browser; a muted gain keeps the microphone
    // out of them.
    const mute = new GainNode(this.context, { gain: 0 });
    source.connect(node).connect(mute).connect(this.context.destination);
    await this.context.resume();
  }

  // True when the browser says echo cancellation runs on this microphone.
  get echoCancelled() {
    const setting = this.stream?.getAudioTracks()[0]?.getSettings().echoCancellation;
    return setting === true || setting === "all";
  }

  stop() {
    this.stream?.getTracks().forEach((track) => track.stop());
    this.context?.close();
    this.stream = this.context = null;
    this.onLevel(0);
  }
}
