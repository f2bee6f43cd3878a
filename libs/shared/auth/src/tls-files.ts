import { createSecureContext } from 'node:tls';

/*
 * TLS material from files (Kubernetes Secrets of type kubernetes.io/tls mount as tls.crt, tls.key and ca.crt), read
 * once at boot: a certificate rotated on disk takes effect at the next restart.
 */
export interface TlsFilePaths {
  /** PEM certificate chain this process presents (server certificate, or client certificate for mutual TLS). */
  readonly certFile?: string | undefined;
  /** PEM private key of that certificate. */
  readonly keyFile?: string | undefined;
  /** PEM CA bundle used to verify the other side (added to Node's default roots). */
  readonly caFile?: string | undefined;
}

export interface TlsMaterial {
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
}

/**
 * Reads the files named, checks that a certificate comes with its key and that they match. `what` names the
 * setting in problems ("hub TLS"). Every problem is returned, none thrown.
 */
export function readTlsFiles(paths: TlsFilePaths, readFile: (path: string) => string, what: string): { material: TlsMaterial; problems: string[] } {
  const problems: string[] = [];
  const read = (path: string | undefined, kind: string, marker: RegExp): string | undefined => {
    if (!path) return undefined;
    let text: string;
    try {
      text = readFile(path);
    } catch (err) {
      problems.push(`${what} ${kind} file ${path}: ${(err as Error).message}`);
      return undefined;
    }
    if (!marker.test(text)) {
      problems.push(`${what} ${kind} file ${path} holds no PEM ${kind} (expected a "-----BEGIN …-----" block)`);
      return undefined;
    }
    return text;
  };
  const cert = read(paths.certFile, 'certificate', /-----BEGIN CERTIFICATE-----/);
  const key = read(paths.keyFile, 'key', /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/);
  const ca = read(paths.caFile, 'CA', /-----BEGIN CERTIFICATE-----/);
  if (Boolean(paths.certFile) !== Boolean(paths.keyFile)) {
    problems.push(`${what}: a certificate needs its key and a key its certificate; set both the cert and the key file`);
  }
  if (cert && key) {
    try {
      createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
    } catch (err) {
      problems.push(`${what}: the certificate and key do not go together (${(err as Error).message})`);
    }
  }
  return { material: { ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(ca ? { ca } : {}) }, problems };
}
