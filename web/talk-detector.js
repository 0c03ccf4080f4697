// Whether the person at the microphone is talking, from the level of each captured frame: well above
// the room's own noise floor, within the last QUIET_MS. Without an echo canceller the page holds
// translated speech back while they talk (talker priority, as a half-duplex speakerphone does):
// playing it then would mute the microphone over their words (docs/web-client.md).

export const QUIET_MS = 600; // a pause this long ends a turn (longer than the pauses inside a sentence)
const ABOVE_FLOOR_DB = 12; // speech stands this far above the noise floor
const QUIETEST_SPEECH_DB = -60; // nothing quieter is speech, whatever the floor
const FLOOR_RISE_DB_PER_S = 3; // the floor follows a louder room slowly; a quieter one at once
const SILENCE_DB = -120;

export class TalkDetector {
  constructor() {
    this.floorDb = null;
    this.heardAt = null;
    this.lastTalkAt = -Infinity;
  }

  // rms: the frame's level, 0..1; now: performance.now() when it was captured.
  hear(rms, now) {
    const db = rms > 0 ? 20 * Math.log10(rms) : SILENCE_DB;
    const elapsedS = this.heardAt === null ? 0 : (now - this.heardAt) / 1000;
    this.heardAt = now;
    this.floorDb = this.floorDb === null ? db : Math.min(db, this.floorDb + FLOOR_RISE_DB_PER_S * elapsedS);
    if (db > QUIETEST_SPEECH_DB && db > this.floorDb + ABOVE_FLOOR_DB) this.lastTalkAt = now;
  }

  // True from the first loud frame until QUIET_MS of quiet.
  talking(now) {
    return now - this.lastTalkAt < QUIET_MS;
  }
}
