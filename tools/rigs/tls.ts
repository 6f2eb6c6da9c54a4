// Certificates made with openssl at test time, and TLS front ends for a plain broker: what a device meets at an
// mqtts:// broker whose certificate it cannot trust, that has expired, or that names another host.

import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server, type TLSSocket } from "node:tls";

export const OPENSSL = existsSync("/usr/bin/openssl") ? "/usr/bin/openssl" : undefined;

export interface KeyPair {
  key: string;
  cert: string;
}

export interface Certificates {
  /** The CA's certificate (PEM file), for the brokerCa setting. */
  ca: string;
  /** Valid now, for localhost and 127.0.0.1. */
  good: KeyPair;
  /** Valid for localhost and 127.0.0.1, but only during January 2020. */
  expired: KeyPair;
  /** Valid now, for broker.example only. */
  otherName: KeyPair;
  /** An intermediate CA signed by the CA (PEM file). */
  intermediate: string;
  /** Valid now, for localhost and 127.0.0.1, signed by the intermediate. */
  underIntermediate: KeyPair;
  remove(): void;
}

// `openssl ca` is the only way OpenSSL 3.0 sets validity dates in the past; it wants a configuration and a database.
const CA_CONFIG = `[ca]
default_ca = test
[test]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
[any]
commonName = supplied
`;

/** A CA, three server certificates signed by it and one signed by an intermediate of its, in a temporary folder. */
export function makeCertificates(): Certificates {
  const dir = mkdtempSync(join(tmpdir(), "tether-certs-"));
  const openssl = (...args: string[]) => execFileSync(OPENSSL!, args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Tether Test CA");
  writeFileSync(join(dir, "ca.cnf"), CA_CONFIG);
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "serial"), "01\n");
  /** A certificate for `name` with the extension `ext`, signed by the CA `issuer` (`ca` or `intermediate`). */
  const issue = (name: string, ext: string, dates: string[], issuer = "ca"): KeyPair => {
    const [key, csr, cert] = [`${name}.key`, `${name}.csr`, `${name}.pem`];
    openssl("req", ...ec, "-keyout", key, "-out", csr, "-subj", `/CN=${name}`, "-addext", ext);
    const signer = ["-cert", `${issuer}.pem`, "-keyfile", `${issuer}.key`];
    openssl("ca", "-batch", "-config", "ca.cnf", ...signer, "-notext", "-in", csr, "-out", cert, ...dates);
    return { key: join(dir, key), cert: join(dir, cert) };
  };
  const local = "subjectAltName=DNS:localhost,IP:127.0.0.1";
  issue("intermediate", "basicConstraints=critical,CA:TRUE", ["-days", "2"]);
  return {
    ca: join(dir, "ca.pem"),
    good: issue("good", local, ["-days", "2"]),
    expired: issue("expired", local, ["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"]),
    otherName: issue("other", "subjectAltName=DNS:broker.example", ["-days", "2"]),
    intermediate: join(dir, "intermediate.pem"),
    underIntermediate: issue("under", local, ["-days", "2"], "intermediate"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TlsFront {
  port: number;
  close(): Promise<void>;
}

/** A TLS server with `pair` on 127.0.0.1 that forwards each connection to a plain broker on `brokerPort`. */
export async function startTlsFront(pair: KeyPair, brokerPort: number): Promise<TlsFront> {
  const sockets = new Set<{ destroy(): void }>();
  const server: Server = createServer({ key: readFileSync(pair.key), cert: readFileSync(pair.cert) });
  server.on("secureConnection", (socket: TLSSocket) => {
    const upstream = connect(brokerPort, "127.0.0.1");
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.once("close", () => sockets.delete(s));
    }
    socket.pipe(upstream).pipe(socket);
  });
  // A client that rejects the certificate aborts the handshake: that is the expected outcome here.
  server.on("tlsClientError", () => {});
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}
