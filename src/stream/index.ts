export { startViewer } from './server.js';
export type { ViewerServer, ViewerServerOptions, ViewerStats, ClientStats } from './server.js';
export { teePublishers } from './publisher.js';
export type { Publisher } from './publisher.js';
export { createRecorder, rolloutPath, RECORDING_EXTENSION } from './recorder.js';
export type { RolloutRecorder } from './recorder.js';
export { loadRecording, startReplay } from './replay.js';
export type { Recording, Replay, ReplayOptions } from './replay.js';
export {
  PROTOCOL_VERSION,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  isVersionMismatch,
  ROLLOUT_STAGE,
} from './protocol.js';
export type { ClientMessage, MetricsRow, ReferenceCurve, RunInfo, ServerMessage, Stage, ValidationPoint, ViewMode } from './protocol.js';
