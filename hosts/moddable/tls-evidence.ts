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

/** Whether a certificate says it is a CA (Basic Constraints with cA TRUE, spec RFC 5280 4.2.1.9). */
function isCa(certificate: ArrayBuffer): boolean {
  const value = X509.decodeExtension(certificate, [2, 5, 29, 19]);
  if (!value) return false;
  // SEQUENCE { cA BOOLEAN DEFAULT FALSE, ... }: a BOOLEAN first, and not 0, is TRUE.
  const bytes = new Uint8Array(value);
  const at = bytes[1] & 0x80 ? 2 + (bytes[1] & 0x7f) : 2;
  return bytes[at] === 0x01 && bytes[at + 2] !== 0;
}

/** Whether a certificate names itself as its issuer (a root, or a self-signed leaf). */
function selfIssued(certificate: ArrayBuffer): boolean {
  const { issuer, subject } = X509.decodeTBS(X509.decode(certificate).tbs);
  return sameBytes(issuer, subject);
}

/**
 * Whether the chain the broker sent leaves out a certificate: one of them (not signed by the device's CA) is signed
 * by none of those that follow it, while the chain's top is not a CA's certificate. A chain that ends in a CA the
 * device lacks is `unknown_ca`; one that ends in a leaf or skips a link lacks the intermediate that signed it.
 * On Moddable a chain must be whole: its TLS refuses a lone leaf even when the device has the CA that signed it.
 */
function missingIntermediate(certificates: ArrayBuffer[], caKey: ArrayBuffer | Uint8Array | undefined): boolean {
  const keys = certificates.map((certificate) => X509.decodeSKI(certificate));
  for (let i = 0; i < certificates.length; i++) {
    const issuer = X509.decodeAKI(certificates[i]);
    if (sameBytes(issuer, caKey) || sameBytes(issuer, keys[i]) || selfIssued(certificates[i])) return false;
    if (i + 1 < certificates.length && sameBytes(issuer, keys[i + 1])) continue;
    // A gap inside the chain, or a top that no CA's certificate ends.
    return i + 1 < certificates.length || !isCa(certificates[i]);
  }
  return false;
}

/**
 * The NetError detail for a failed handshake: `expired` (or `not_yet_valid`: is the clock set?), `unknown_ca`,
 * `missing_intermediate` (the broker leaves out the certificate that signed its own), `name_mismatch`, `leaf_only`
 * (the broker sends no chain), or `handshake` when the certificates explain nothing (a protocol failure, an alert:
 * `message` has it).
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
    const caKey = ca && X509.decodeSKI(ca);
    if (missingIntermediate(certificates, caKey)) return "missing_intermediate";
    if (ca && !certificates.some((certificate) => sameBytes(X509.decodeAKI(certificate), caKey))) return "unknown_ca";
    if (!nameMatches(certificates[0], serverName)) return "name_mismatch";
    return certificates.length === 1 ? "leaf_only" : "handshake";
  } catch {
    // Certificates the SDK's decoder cannot read: all that is known is that the handshake failed.
    return "handshake";
  }
}
