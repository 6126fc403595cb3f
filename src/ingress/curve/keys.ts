// CURVE keys: checks of Z85 key text, the public key of a secret key, and keygen.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import * as zmq from 'zeromq';
import { z85Decode, z85Encode } from './z85.js';

export const CURVE_KEY_Z85_LENGTH = 40;
export const CURVE_KEY_BYTES = 32;

// ---------------------------------------------------------------------------------------------
// Keys

/** Why `text` is not a Z85 CURVE key, or null if it is one. Never quotes the text (secrets). */
export function curveKeyProblem(text: unknown): string | null {
  if (typeof text !== 'string') return `must be a string, got ${text === null ? 'null' : typeof text}`;
  if (text.length !== CURVE_KEY_Z85_LENGTH) {
    return `must be a ${CURVE_KEY_Z85_LENGTH}-character Z85 CURVE key, got ${text.length} characters`;
  }
  try {
    z85Decode(text);
  } catch (err) {
    return `is not valid Z85: ${(err as Error).message}`;
  }
  return null;
}

// DER prefix of a PKCS#8 X25519 private key (RFC 8410) followed by the 32 raw bytes, so that
// node:crypto can load libzmq's raw secret and give us the public key without a dependency.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** The Z85 public key of a Z85 CURVE secret key (X25519, what zmq_curve_public computes). */
export function curvePublicKeyFromSecret(secretZ85: string): string {
  const problem = curveKeyProblem(secretZ85);
  if (problem) throw new Error(`secret key ${problem}`);
  const raw = z85Decode(secretZ85);
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return z85Encode(spki.subarray(spki.length - CURVE_KEY_BYTES));
}

/** A new CURVE keypair in Z85, like Zeek's Cluster::Backend::ZeroMQ::generate_keypair(). */
export function generateKeypair(): { public: string; secret: string } {
  const { publicKey, secretKey } = zmq.curveKeyPair();
  return { public: publicKey, secret: secretKey };
}
