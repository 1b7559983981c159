/**
 * Test certificates made with `openssl` at test time, in a temp dir: a CA,
 * a server certificate it signed (localhost, 127.0.0.1, ::1, and what
 * `serverSan` adds), one for another name, an expired one, a self-signed one
 * and a client certificate for mTLS. All PEM strings.
 */
import { mustRun } from "./command.ts";

/** A certificate and its private key, PEM. */
export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

/** Everything `makeTestCerts` produces. */
export interface TestCerts extends AsyncDisposable {
  readonly dir: string;
  /** The test CA's certificate: trust it to verify the CA-signed pairs. */
  readonly caCert: string;
  /** Signed by the CA for DNS:localhost, IP:127.0.0.1, IP:::1. */
  readonly server: CertPair;
  /** Signed by the CA for DNS:other.example only. */
  readonly other: CertPair;
  /** Signed by the CA for localhost & loopbacks, valid only in 2020. */
  readonly expired: CertPair;
  /** Self-signed for localhost & loopbacks: no CA vouches for it. */
  readonly selfSigned: CertPair;
  /** A client certificate (clientAuth) the CA signed, for mTLS. */
  readonly client: CertPair;
  /** Removes the temp dir. */
  cleanup(): Promise<void>;
}

const LOOPBACK_SAN = "DNS:localhost,IP:127.0.0.1,IP:::1";

/**
 * Creates a fresh set of test certificates (EC P-256, fast to make). The
 * directory is also removed when the process unloads, so a test module can
 * make them once at top level.
 */
export async function makeTestCerts(
  opts: { serverSan?: string } = {},
): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "maglev-certs-" });
  const f = (name: string) => `${dir}/${name}`;
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
  try {
    await mustRun("openssl", [
      "req",
      "-x509",
      ...ec,
      "-nodes",
      "-keyout",
      f("ca.key"),
      "-out",
      f("ca.pem"),
      "-days",
      "2",
      "-subj",
      "/CN=maglev test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    const sign = async (
      name: string,
      cn: string,
      san: string,
      usage = "serverAuth",
    ) => {
      await mustRun("openssl", [
        "req",
        ...ec,
        "-nodes",
        "-keyout",
        f(`${name}.key`),
        "-out",
        f(`${name}.csr`),
        "-subj",
        `/CN=${cn}`,
      ]);
      await Deno.writeTextFile(
        f(`${name}.ext`),
        `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n` +
          `extendedKeyUsage=${usage}\n`,
      );
      await mustRun("openssl", [
        "x509",
        "-req",
        "-in",
        f(`${name}.csr`),
        "-CA",
        f("ca.pem"),
        "-CAkey",
        f("ca.key"),
        "-CAcreateserial",
        "-out",
        f(`${name}.pem`),
        "-days",
        "2",
        "-extfile",
        f(`${name}.ext`),
      ]);
    };
    await sign(
      "server",
      "localhost",
      opts.serverSan ? `${LOOPBACK_SAN},${opts.serverSan}` : LOOPBACK_SAN,
    );
    await sign(
      "client",
      "maglev operator",
      "DNS:operator.example",
      "clientAuth",
    );
    await sign("other", "other.example", "DNS:other.example");
    // Expired: `openssl ca` is the only 3.0 tool that takes explicit dates.
    await mustRun("openssl", [
      "req",
      ...ec,
      "-nodes",
      "-keyout",
      f("expired.key"),
      "-out",
      f("expired.csr"),
      "-subj",
      "/CN=localhost",
    ]);
    await Deno.writeTextFile(f("index.txt"), "");
    await Deno.writeTextFile(f("serial"), "1000\n");
    await Deno.writeTextFile(
      f("ca.cnf"),
      [
        "[ca]",
        "default_ca = test",
        "[test]",
        `database = ${f("index.txt")}`,
        `new_certs_dir = ${dir}`,
        `serial = ${f("serial")}`,
        "default_md = sha256",
        "policy = any",
        "[any]",
        "commonName = supplied",
        "[ext]",
        `subjectAltName = ${LOOPBACK_SAN}`,
        "basicConstraints = CA:FALSE",
        "",
      ].join("\n"),
    );
    await mustRun("openssl", [
      "ca",
      "-batch",
      "-notext",
      "-config",
      f("ca.cnf"),
      "-cert",
      f("ca.pem"),
      "-keyfile",
      f("ca.key"),
      "-in",
      f("expired.csr"),
      "-out",
      f("expired.pem"),
      "-startdate",
      "20200101000000Z",
      "-enddate",
      "20200102000000Z",
      "-extensions",
      "ext",
    ]);
    await mustRun("openssl", [
      "req",
      "-x509",
      ...ec,
      "-nodes",
      "-keyout",
      f("self.key"),
      "-out",
      f("self.pem"),
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      `subjectAltName=${LOOPBACK_SAN}`,
    ]);
    const pair = async (name: string): Promise<CertPair> => ({
      cert: await Deno.readTextFile(f(`${name}.pem`)),
      key: await Deno.readTextFile(f(`${name}.key`)),
    });
    const cleanup = () =>
      Deno.remove(dir, { recursive: true }).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already removed
      }
    });
    return {
      dir,
      caCert: await Deno.readTextFile(f("ca.pem")),
      server: await pair("server"),
      other: await pair("other"),
      expired: await pair("expired"),
      selfSigned: await pair("self"),
      client: await pair("client"),
      cleanup,
      [Symbol.asyncDispose]: cleanup,
    };
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}
