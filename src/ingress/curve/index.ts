// CURVE for the ingress sockets: config (schema fragment, resolver), keys, the socket options
// and the ZAP handler that checks client keys.
export {
  CurveConfigError,
  ZEEK_ENV,
  curveSchema,
  describeCurveConfig,
  parseKeyFile,
  resolveCurveConfig,
  type CurveDisabled,
  type CurveProblem,
  type CurveServerConfig,
  type CurveSettings,
  type ResolveCurveOptions,
  type ResolvedCurveConfig,
} from './config.js';
export { CURVE_KEY_BYTES, CURVE_KEY_Z85_LENGTH, curveKeyProblem, curvePublicKeyFromSecret, generateKeypair } from './keys.js';
export { applyCurveServer, type CurveServerBinding } from './sockets.js';
export { ZAP_ENDPOINT, answerZapRequest, startZapHandler } from './zap.js';
export type { ZapClientPolicy, ZapDecision, ZapHandler, ZapHandlerOptions, ZapReason } from './zap.js';
