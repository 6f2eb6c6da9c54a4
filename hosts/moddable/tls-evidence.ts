// Why a TLS handshake failed, on Moddable. The SDK's TLS throws the same "certificate: auth err" for an unknown CA,
// an expired certificate, a name that does not match and a broker that sends its leaf certificate alone (its
// verifier checks names and dates only on certificates it walks as part of a chain), and a plain "date validation
// failed" for an expired certificate in a full chain. The server's certificates cross the wire in clear during the
// handshake (TLS 1.2), so the host keeps the bytes it read until the handshake ends and, when it fails, looks at
// them: dates, issuer, names, chain length, in that order. This names a failure the SDK already decided; it never
// decides trust.
import X509 from "x509";

/** The most handshake bytes kept: a certificate chain of a few kilobytes, with room to spare. */
export const EVIDENCE_MAX = 8192;

const HANDSHAKE = 22;
const CHANGE_CIPHER_SPEC = 20;
const CERTIFICATE = 11;
const DNS_NAME = 2;
const IP_ADDRESS = 7;

/** The server's certificates (DER, leaf first) in the TLS records read from the server, if they are there. */
export function certificatesIn(records: Uint8Array): ArrayBuffer[] | undefined {
  // The handshake messages, out of the records that carry them, up to the switch to encryption.
  const messages = new Uint8Array(records.length);
  let length = 0;
  for (let p = 0; p + 5 <= records.length; ) {
    const type = records[p];
    const size = (records[p + 3] << 8) | records[p + 4];
    if (type === CHANGE_CIPHER_SPEC) break;
    if (type === HANDSHAKE) {
      const body = records.subarray(p + 5, Math.min(records.length, p + 5 + size));
      messages.set(body, length);
      length += body.length;
    }
    p += 5 + size;
  }
  for (let p = 0; p + 4 <= length; ) {
    const size = (messages[p + 1] << 16) | (messages[p + 2] << 8) | messages[p + 3];
    if (messages[p] === CERTIFICATE) {
      const certificates: ArrayBuffer[] = [];
      const end = Math.min(length, p + 4 + size);
      for (let q = p + 7; q + 3 <= end; ) {
        const n = (messages[q] << 16) | (messages[q + 1] << 8) | messages[q + 2];
        certificates.push(messages.slice(q + 3, q + 3 + n).buffer);
        q += 3 + n;
      }
      return certificates;
    }
    p += 4 + size;
  }
  return undefined;
}

function sameBytes(a: ArrayBuffer | Uint8Array | undefined, b: ArrayBuffer | Uint8Array | undefined): boolean {
  if (!a || !b) return false;
  const x = a instanceof Uint8Array ? a : new Uint8Array(a);
  const y = b instanceof Uint8Array ? b : new Uint8Array(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function nameMatches(leaf: ArrayBuffer, serverName: string): boolean {
  const wanted = serverName.toLowerCase();
  for (const name of X509.decodeSAN(leaf) ?? []) {
    if (name.tag === DNS_NAME && String(name.value).toLowerCase() === wanted) return true;
    if (name.tag === IP_ADDRESS && name.value instanceof ArrayBuffer && new Uint8Array(name.value).join(".") === wanted)
      return true;
  }
  return false;
}

/**
 * The NetError detail for a failed handshake: `expired` (or `not_yet_valid`: is the clock set?), `unknown_ca`,
 * `name_mismatch`, `leaf_only` (the broker sends no chain), or `handshake` when the certificates explain nothing
 * (a protocol failure, an alert: `message` has it).
 */
export function tlsFailure(
  message: string,
  records: Uint8Array,
  serverName: string,
  ca: ArrayBuffer | undefined,
  now: number,
): string {
  if (message.startsWith("alert:")) return `handshake ${message}`;
  let certificates: ArrayBuffer[] | undefined;
  try {
    certificates = certificatesIn(records);
    if (!certificates?.length) return "handshake";
    for (const certificate of certificates) {
      const { from, to } = X509.decodeTBS(X509.decode(certificate).tbs).validity;
      if (now < from) return "not_yet_valid";
      if (now > to) return "expired";
    }
    if (ca && !certificates.some((certificate) => sameBytes(X509.decodeAKI(certificate), X509.decodeSKI(ca))))
      return "unknown_ca";
    if (!nameMatches(certificates[0], serverName)) return "name_mismatch";
    return certificates.length === 1 ? "leaf_only" : "handshake";
  } catch {
    // Certificates the SDK's decoder cannot read: all that is known is that the handshake failed.
    return "handshake";
  }
}
