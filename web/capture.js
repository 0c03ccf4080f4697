// Microphone capture: getUserMedia (echo cancellation and noise suppression on) into the
// "pcm-capture" worklet, which hands back 16 kHz PCM s16le frames of FRAME_MS.

export const FRAME_MS = 20;
export const CAPTURE_RATE = 16000;

export class Capture {
  constructor(context, onFrame, onLevel) {
    this.context = context;
    this.onFrame = onFrame;
    this.onLevel = onLevel;
    this.stream = null;
    this.node = null;
    this.source = null;
  }

  // voiceProcessing: the browser's echo cancellation, noise suppression and gain control. On by
  // default: it keeps the played translation out of the microphone. With headphones it can be
  // turned off for audio as captured.
  async start(voiceProcessing = true) {
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: {
        echoCancellation: voiceProcessing, noiseSuppression: voiceProcessing, autoGainControl: voiceProcessing,
        channelCount: 1,
      },
    });
    this.source = this.context.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(this.context, "pcm-capture", {
      processorOptions: { frameSamples: (CAPTURE_RATE * FRAME_MS) / 1000 },
    });
    this.node.port.onmessage = ({ data }) => {
      this.onLevel(data.level);
      this.onFrame(data.pcm);
    };
    this.source.connect(this.node);
    // The node must be pulled by the graph to run; a muted gain keeps the mic out of the speakers.
    const mute = this.context.createGain();
    mute.gain.value = 0;
    this.node.connect(mute).connect(this.context.destination);
  }

  stop() {
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    if (this.source) this.source.disconnect();
    if (this.node) {
      this.node.port.onmessage = null;
      this.node.disconnect();
    }
    this.stream = this.source = this.node = null;
    this.onLevel(0);
  }
}
