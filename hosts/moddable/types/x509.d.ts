// The SDK's x509 module (modules/crypt/etc/x509.js), which its TLS brings into every build, as the host reads it to
// name a TLS failure. The SDK ships no typing for it; these are the members used here, as x509.js defines them.
declare module "x509" {
  interface Validity {
    /** Milliseconds since the epoch. */
    from: number;
    to: number;
  }
  interface SubjectAltName {
    /** 2: dNSName (value a string), 7: iPAddress (value the address bytes). */
    tag: number;
    value: string | ArrayBuffer;
  }
  const X509: {
    decode(der: ArrayBuffer): { tbs: ArrayBuffer | Uint8Array };
    /** `issuer` and `subject` are their names' DER. */
    decodeTBS(tbs: ArrayBuffer | Uint8Array): { validity: Validity; issuer: Uint8Array; subject: Uint8Array };
    decodeSAN(der: ArrayBuffer): SubjectAltName[] | undefined;
    /** The authority key identifier: which key signed it. */
    decodeAKI(der: ArrayBuffer): ArrayBuffer | Uint8Array | undefined;
    /** The subject key identifier (made up from the key when the certificate has none). */
    decodeSKI(der: ArrayBuffer): ArrayBuffer | Uint8Array | undefined;
    /** The value of the extension with this object identifier (its arcs), if the certificate has it. */
    decodeExtension(der: ArrayBuffer, id: number[]): ArrayBuffer | undefined;
  };
  export default X509;
}
